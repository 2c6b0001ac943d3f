//! The metric instruments, made once from the global meter provider.

use opentelemetry::metrics::{Counter, Histogram, UpDownCounter};
use seedwatch_semconv::metric_names::{LLM_DURATION_BUCKETS, TOOL_DURATION_BUCKETS};

use crate::shared::SCOPE;

/// GenAI client duration buckets from the semantic conventions.
const GEN_AI_DURATION_BUCKETS: [f64; 14] =
    [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
/// GenAI token usage buckets from the semantic conventions.
const GEN_AI_TOKEN_BUCKETS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0,
    67108864.0,
];

pub(crate) struct Instruments {
    pub active_analyses: UpDownCounter<i64>,
    pub workflow_duration: Histogram<f64>,
    pub tool_executions: Counter<u64>,
    pub tool_errors: Counter<u64>,
    pub tool_duration: Histogram<f64>,
    pub llm_requests: Counter<u64>,
    pub llm_errors: Counter<u64>,
    pub llm_duration: Histogram<f64>,
    pub llm_cost: Counter<f64>,
    pub token_usage: Histogram<u64>,
    pub operation_duration: Histogram<f64>,
    pub measured: Histogram<f64>,
}

impl Instruments {
    pub(crate) fn new() -> Instruments {
        let m = opentelemetry::global::meter(SCOPE);
        Instruments {
            active_analyses: m
                .i64_up_down_counter("modelseed.active_analyses")
                .with_description("Workflows (analyses) running now")
                .build(),
            workflow_duration: m
                .f64_histogram("modelseed.workflow.duration")
                .with_unit("s")
                .with_description("Workflow duration")
                .with_boundaries(seedwatch_semconv::metric_names::WORKFLOW_DURATION_BUCKETS.to_vec())
                .build(),
            tool_executions: m.u64_counter("modelseed.tool.executions").with_description("Tool executions").build(),
            tool_errors: m.u64_counter("modelseed.tool.errors").with_description("Tool execution errors").build(),
            tool_duration: m
                .f64_histogram("modelseed.tool.duration")
                .with_unit("s")
                .with_description("Tool execution duration")
                .with_boundaries(TOOL_DURATION_BUCKETS.to_vec())
                .build(),
            llm_requests: m.u64_counter("modelseed.llm.requests").with_description("LLM API requests").build(),
            llm_errors: m.u64_counter("modelseed.llm.errors").with_description("LLM API errors").build(),
            llm_duration: m
                .f64_histogram("modelseed.llm.duration")
                .with_unit("s")
                .with_description("LLM request duration")
                .with_boundaries(LLM_DURATION_BUCKETS.to_vec())
                .build(),
            llm_cost: m
                .f64_counter("modelseed.llm.cost")
                .with_unit("USD")
                .with_description("LLM cost from the pricing table")
                .build(),
            token_usage: m
                .u64_histogram("gen_ai.client.token.usage")
                .with_unit("{token}")
                .with_description("Number of input and output tokens used")
                .with_boundaries(GEN_AI_TOKEN_BUCKETS.to_vec())
                .build(),
            operation_duration: m
                .f64_histogram("gen_ai.client.operation.duration")
                .with_unit("s")
                .with_description("GenAI operation duration")
                .with_boundaries(GEN_AI_DURATION_BUCKETS.to_vec())
                .build(),
            measured: m
                .f64_histogram("modelseed.operation.duration")
                .with_unit("s")
                .with_description("Duration of measured operations")
                .with_boundaries(TOOL_DURATION_BUCKETS.to_vec())
                .build(),
        }
    }
}
