//! Provider names as instrumentations write them, mapped to the GenAI conventions' well-known
//! `gen_ai.provider.name` values, so one provider is one label value whatever the dialect.

/// The conventions' well-known values, and the other spellings seen for each (compared
/// without regard to case). Sources: the conventions' registry (2026), OpenInference's
/// `llm.provider` / `llm.system` values, the Vercel AI SDK's `ai.model.provider` prefixes,
/// Google ADK (`gcp.vertex.agent`), LiteLLM and Azure SDKs.
const PROVIDERS: &[(&str, &[&str])] = &[
    ("openai", &["openai"]),
    ("anthropic", &["anthropic"]),
    ("aws.bedrock", &["aws.bedrock", "bedrock", "aws", "aws_bedrock", "amazon-bedrock", "amazon_bedrock"]),
    ("azure.ai.inference", &["azure.ai.inference", "az.ai.inference", "azure_ai_inference", "azure-ai-inference"]),
    ("azure.ai.openai", &["azure.ai.openai", "az.ai.openai", "azure", "azure_openai", "azure-openai", "azureopenai"]),
    ("cohere", &["cohere"]),
    ("deepseek", &["deepseek"]),
    ("gcp.gemini", &["gcp.gemini", "gemini", "google.generative-ai", "google_genai", "google-genai"]),
    ("gcp.gen_ai", &["gcp.gen_ai", "google"]),
    ("gcp.vertex_ai", &["gcp.vertex_ai", "vertex_ai", "vertexai", "vertex", "google.vertex", "gcp.vertex.agent"]),
    ("groq", &["groq"]),
    ("ibm.watsonx.ai", &["ibm.watsonx.ai", "watsonx", "ibm"]),
    ("mistral_ai", &["mistral_ai", "mistral", "mistralai"]),
    ("perplexity", &["perplexity"]),
    ("x_ai", &["x_ai", "xai", "x-ai", "grok"]),
];

/// The well-known name of a provider, else `raw` unchanged. The Vercel AI SDK's
/// `<provider>.<api>` form (`openai.chat`, `anthropic.messages`, `google.vertex.chat`) is
/// known by the longest prefix that names a provider.
pub fn normalise(raw: &str) -> &str {
    if let Some(known) = lookup(raw) {
        return known;
    }
    // `openai.chat` -> `openai`; `google.vertex.chat` -> `google.vertex`.
    let mut name = raw;
    while let Some((prefix, _)) = name.rsplit_once('.') {
        if let Some(known) = lookup(prefix) {
            return known;
        }
        name = prefix;
    }
    raw
}

fn lookup(name: &str) -> Option<&'static str> {
    PROVIDERS
        .iter()
        .find(|(_, spellings)| spellings.iter().any(|s| s.eq_ignore_ascii_case(name)))
        .map(|(known, _)| *known)
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn spellings_in_the_wild_become_the_well_known_values() {
        for (raw, known) in [
            ("openai", "openai"),
            ("OpenAI", "openai"),
            ("Anthropic", "anthropic"),
            ("az.ai.openai", "azure.ai.openai"),
            ("azure", "azure.ai.openai"),
            ("vertex_ai", "gcp.vertex_ai"),
            ("gcp.vertex.agent", "gcp.vertex_ai"),
            ("gemini", "gcp.gemini"),
            ("openai.chat", "openai"),
            ("openai.responses", "openai"),
            ("openai.embedding", "openai"),
            ("anthropic.messages", "anthropic"),
            ("google.generative-ai", "gcp.gemini"),
            ("google.vertex.chat", "gcp.vertex_ai"),
            ("amazon-bedrock", "aws.bedrock"),
            ("mistralai", "mistral_ai"),
            ("xai", "x_ai"),
        ] {
            assert_eq!(normalise(raw), known, "{raw}");
        }
    }

    #[test]
    fn unknown_providers_are_kept_as_sent() {
        for raw in ["house-llm", "Ollama", "my.own.gateway", ""] {
            assert_eq!(normalise(raw), raw);
        }
    }
}
