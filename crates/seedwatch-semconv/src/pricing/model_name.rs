//! Model names to try, most specific first: the name, without a `provider/` prefix, then
//! without a date or `-latest` suffix.

/// Candidate names for `model` (already lower-cased).
pub(super) fn candidates(model: &str) -> Vec<&str> {
    let mut out = vec![model];
    let unprefixed = model.rsplit_once('/').map_or(model, |(_, m)| m);
    if unprefixed != model {
        out.push(unprefixed);
    }
    let mut base = unprefixed;
    while let Some(shorter) = strip_version_suffix(base) {
        out.push(shorter);
        base = shorter;
    }
    out
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `name-2024-08-06`, `name-20241022`, `name@20241022`, `name-latest` -> `name`.
fn strip_version_suffix(model: &str) -> Option<&str> {
    if let Some(base) = model.strip_suffix("-latest") {
        return Some(base);
    }
    if let Some((base, date)) = model.rsplit_once('@') {
        return all_digits(date).then_some(base);
    }
    let bytes = model.as_bytes();
    // -YYYY-MM-DD
    if bytes.len() > 11 {
        let (base, tail) = model.split_at(model.len() - 11);
        let parts: Vec<&str> = tail.splitn(4, '-').collect();
        if parts.len() == 4
            && parts[0].is_empty()
            && parts[1].len() == 4
            && parts[2].len() == 2
            && parts[3].len() == 2
            && parts[1..].iter().all(|p| all_digits(p))
        {
            return Some(base);
        }
    }
    // -YYYYMMDD
    if let Some((base, date)) = model.rsplit_once('-')
        && date.len() == 8
        && all_digits(date)
        && date.starts_with("20")
    {
        return Some(base);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::candidates;

    #[test]
    fn dated_versions_and_prefixes_fall_back_to_the_base_model() {
        assert_eq!(candidates("gpt-4o-2024-08-06"), ["gpt-4o-2024-08-06", "gpt-4o"]);
        assert_eq!(candidates("claude-3-5-sonnet-20241022"), ["claude-3-5-sonnet-20241022", "claude-3-5-sonnet"]);
        assert_eq!(
            candidates("claude-3-5-sonnet-v2@20241022"),
            ["claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet-v2"]
        );
        assert_eq!(candidates("openai/gpt-4o-mini"), ["openai/gpt-4o-mini", "gpt-4o-mini"]);
        assert_eq!(candidates("claude-3-5-haiku-latest"), ["claude-3-5-haiku-latest", "claude-3-5-haiku"]);
        assert_eq!(candidates("gpt-4"), ["gpt-4"]);
        assert_eq!(candidates("llama-3-70b"), ["llama-3-70b"], "a short numeric suffix is not a date");
    }
}
