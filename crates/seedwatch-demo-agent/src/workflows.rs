//! Simulated ModelSEED workflows: load a model, run FBA, ask the LLM to interpret, find
//! minimal media, gap-fill when growth fails, summarise. Each tool is instrumented a different
//! way to show all three: the `tool()` wrapper, the `#[tool]` attribute and the `ToolCall`
//! guard.

use std::time::Duration;

use seedwatch_agent::{ApiKeyRef, LlmCall, SecurityAuditor, ToolCall, Usage, Workflow, measure, timed};
use serde::Serialize;
use serde_json::{Value, json};

/// The fake endpoint's API key. The agent never exports it: audit records carry its
/// fingerprint, and the sanitiser would redact it from any text.
const API_KEY: &str = "sk-demo-0123456789abcdefghijklmnopqrstuv";

/// Why a simulated tool failed.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The LP has no solution.
    #[error("LP infeasible: no flux distribution satisfies the constraints")]
    Infeasible,
    /// The solver ran out of time.
    #[error("solver timed out")]
    SolverTimeout,
}

/// Why an LLM call failed.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The endpoint could not be reached.
    #[error("request failed: {0}")]
    Request(#[from] reqwest::Error),
    /// The endpoint answered with an error status.
    #[error("{status}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The answer.
        body: String,
    },
}

/// Result of an FBA run.
#[derive(Debug, Clone, Serialize)]
pub struct Fba {
    objective: f64,
    status: &'static str,
}

/// What drives the simulation.
#[derive(Clone)]
pub struct Agent {
    pub llm_url: String,
    pub client: reqwest::Client,
    pub fast: bool,
    failures: std::sync::Arc<crate::failures::EveryNth>,
    key: ApiKeyRef,
}

impl Agent {
    /// A simulated agent calling the fake LLM at `llm_url`.
    pub fn new(llm_url: String, fast: bool, tool_failure_rate: f64) -> Agent {
        Agent {
            llm_url,
            client: reqwest::Client::new(),
            fast,
            failures: std::sync::Arc::new(crate::failures::EveryNth::new(tool_failure_rate)),
            key: ApiKeyRef::fingerprint(API_KEY),
        }
    }

    async fn work(&self, slow_ms: u64) {
        let ms = if self.fast { 1 + slow_ms / 100 } else { slow_ms / 2 + fastrand::u64(0..slow_ms) };
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    fn fails(&self) -> bool {
        self.failures.hit()
    }

    /// Runs one workflow to its end; `Err` names the step that failed it.
    pub async fn run(&self, id: String, user: &str) -> Result<Value, String> {
        let kind = ["model_analysis", "gapfilling", "media_optimization"][fastrand::usize(0..3)];
        SecurityAuditor::new().access_attempt(
            user,
            &format!("workflow/{kind}"),
            "start",
            true,
            Some([127, 0, 0, 1].into()),
        );
        let workflow = Workflow::start(id.clone(), kind);
        let outcome = workflow.run(self.steps(&workflow)).await;
        match &outcome {
            Ok(_) => workflow.succeed(),
            Err(e) => workflow.fail("step_failed", e),
        }
        outcome
    }

    async fn steps(&self, workflow: &Workflow) -> Result<Value, String> {
        tracing::info!(workflow_id = workflow.id(), "workflow started");
        {
            let step = workflow.step("load_model");
            step.run(self.work(100)).await;
        }
        let fba = self.run_fba("iML1515").await.map_err(|e| format!("run_metabolic_fba: {e}"))?;
        let interpretation = self.ask_llm(&format!("Interpret FBA objective {}", fba.objective)).await;
        if let Err(e) = &interpretation {
            tracing::warn!(error = %e, "LLM interpretation failed; continuing without it");
        }
        let media = find_minimal_media(self.clone()).await.map_err(|e| format!("find_minimal_media: {e}"))?;
        if fba.objective < 0.1 {
            self.gapfill().await.map_err(|e| format!("gapfill_model: {e}"))?;
        }
        let summary = self.ask_llm("Summarise the analysis").await.map_err(|e| format!("summary: {e}"))?;
        Ok(json!({"objective": fba.objective, "media": media, "summary": summary}))
    }

    /// FBA through the `tool()` wrapper: inputs and outputs land in the audit record.
    async fn run_fba(&self, model: &str) -> Result<Fba, ToolError> {
        let inputs = json!({"model_id": model, "objective": "bio1", "solver": "glpk"});
        seedwatch_agent::tool("run_metabolic_fba", inputs, async {
            let _m = measure("fba_execution");
            self.work(300).await;
            if self.fails() {
                return Err(ToolError::Infeasible);
            }
            let objective = if fastrand::u8(0..10) == 0 { 0.0 } else { 0.5 + fastrand::f64() / 2.0 };
            tracing::info!(objective, "FBA solved");
            Ok(Fba { objective, status: "optimal" })
        })
        .await
    }

    /// Gap-filling through the `ToolCall` guard.
    async fn gapfill(&self) -> Result<(), ToolError> {
        let call =
            ToolCall::start("gapfill_model").with_inputs(json!({"model_id": "iML1515", "media": "glucose_minimal"}));
        call.run(self.work(800)).await;
        if self.fails() {
            call.fail("SolverTimeout", ToolError::SolverTimeout);
            return Err(ToolError::SolverTimeout);
        }
        call.succeed(json!({"reactions_added": fastrand::u8(1..12)}));
        Ok(())
    }

    /// One chat completion against the fake endpoint.
    #[timed("llm_round_trip")]
    async fn ask_llm(&self, prompt: &str) -> Result<String, LlmError> {
        let mut call = LlmCall::start("openai", "gpt-4o");
        let request = self
            .client
            .post(format!("{}/chat/completions", self.llm_url))
            .bearer_auth(API_KEY)
            .json(&json!({"model": "gpt-4o", "messages": [{"role": "user", "content": prompt}]}));
        let answer = call.run(request.send()).await;
        let auditor = SecurityAuditor::new();
        let response = match answer {
            Ok(r) => r,
            Err(e) => {
                auditor.api_key_usage(&self.key, "openai", false, None);
                call.fail("connection_error", &e);
                return Err(e.into());
            }
        };
        let status = response.status();
        let body: Value = call.run(response.json()).await.unwrap_or(Value::Null);
        auditor.api_key_usage(&self.key, "openai", status.is_success(), None);
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            auditor.rate_limit_exceeded(&self.key, "openai", None);
        }
        if !status.is_success() {
            let error_type = body["error"]["type"].as_str().unwrap_or("http_error").to_owned();
            call.fail(&error_type, &body);
            return Err(LlmError::Status { status: status.as_u16(), body: body.to_string() });
        }
        let usage = &body["usage"];
        let n = |v: &Value| v.as_u64().unwrap_or(0);
        if let Some(model) = body["model"].as_str() {
            call.response_model(model);
        }
        call.record_usage(Usage {
            input: n(&usage["prompt_tokens"]),
            output: n(&usage["completion_tokens"]),
            cache_read: n(&usage["prompt_tokens_details"]["cached_tokens"]),
            reasoning: n(&usage["completion_tokens_details"]["reasoning_tokens"]),
            ..Usage::default()
        });
        call.succeed();
        Ok(body["choices"][0]["message"]["content"].as_str().unwrap_or_default().to_owned())
    }
}

/// Minimal media through the `#[tool]` attribute.
#[seedwatch_agent::tool]
async fn find_minimal_media(agent: Agent) -> Result<Vec<&'static str>, ToolError> {
    agent.work(200).await;
    if agent.fails() {
        return Err(ToolError::SolverTimeout);
    }
    Ok(vec!["cpd00027_e0", "cpd00009_e0", "cpd00013_e0", "cpd00048_e0"])
}
