//! Item-level checks every receiver applies. Invalid items are removed before queueing and
//! reported through OTLP partial success, so nothing invalid is half-accepted.

use opentelemetry_proto::tonic::metrics::v1::Metric;

use crate::pipeline::{Payload, data_point_count, span_ids_problem};

/// What was removed from a request.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Items removed.
    pub count: u64,
    /// The first reason, with the total, for the partial-success message.
    pub message: String,
}

impl Rejection {
    fn add(&mut self, count: usize, reason: impl FnOnce() -> String) {
        if count > 0 && self.count == 0 {
            self.message = reason();
        }
        self.count += count as u64;
    }

    fn finish(mut self, noun: &str) -> Self {
        if self.count > 0 {
            self.message = format!("{} {noun} rejected; first: {}", self.count, self.message);
        }
        self
    }
}

/// Removes invalid items from the payload and says how many and why.
pub fn drop_invalid(payload: &mut Payload) -> Rejection {
    let mut rejection = Rejection::default();
    match payload {
        // Received bytes were scanned on arrival: they stay raw only when every id is valid.
        Payload::Traces(data) if data.is_raw_only() => rejection,
        Payload::Traces(data) => {
            for ss in data.request_mut().resource_spans.iter_mut().flat_map(|rs| &mut rs.scope_spans) {
                let before = ss.spans.len();
                let mut first_bad = None;
                ss.spans.retain(|span| {
                    let problem = span_ids_problem(&span.trace_id, &span.span_id, &span.parent_span_id);
                    if let Some(p) = problem {
                        first_bad.get_or_insert_with(|| format!("span `{}`: {p}", span.name));
                    }
                    problem.is_none()
                });
                rejection.add(before - ss.spans.len(), || first_bad.unwrap_or_default());
            }
            rejection.finish("spans")
        }
        Payload::Logs(data) => {
            for sl in data.request_mut().resource_logs.iter_mut().flat_map(|rl| &mut rl.scope_logs) {
                let before = sl.log_records.len();
                sl.log_records.retain(|r| {
                    (r.trace_id.is_empty() || r.trace_id.len() == 16) && (r.span_id.is_empty() || r.span_id.len() == 8)
                });
                rejection.add(before - sl.log_records.len(), || {
                    "log record: trace_id must be empty or 16 bytes, span_id empty or 8 bytes".to_owned()
                });
            }
            rejection.finish("log records")
        }
        Payload::Metrics(req) => {
            for sm in req.resource_metrics.iter_mut().flat_map(|rm| &mut rm.scope_metrics) {
                for metric in &mut sm.metrics {
                    drop_invalid_points(metric, &mut rejection);
                }
                sm.metrics.retain(|m| m.data.as_ref().is_some_and(|d| data_point_count(d) > 0));
            }
            rejection.finish("data points")
        }
    }
}

/// A metric must have a name (the proto marks it required); its points go otherwise.
fn drop_invalid_points(metric: &mut Metric, rejection: &mut Rejection) {
    if metric.name.is_empty()
        && let Some(data) = metric.data.take()
    {
        rejection.add(data_point_count(&data), || "metric without a name".to_owned());
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::metrics::v1::{
        Gauge, HistogramDataPoint, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    };
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    use opentelemetry_proto::tonic::metrics::v1::metric::Data;

    use super::*;

    fn span(name: &str, trace: Vec<u8>, id: Vec<u8>) -> Span {
        Span { name: name.into(), trace_id: trace, span_id: id, ..Default::default() }
    }

    #[test]
    fn spans_with_bad_ids_are_removed_and_reported() {
        let mut payload = Payload::Traces(crate::pipeline::TraceData::from(ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![
                        span("ok", vec![1; 16], vec![2; 8]),
                        span("short", vec![1; 15], vec![2; 8]),
                        span("zero", vec![0; 16], vec![2; 8]),
                        span("nospan", vec![1; 16], vec![]),
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }));
        let r = drop_invalid(&mut payload);
        assert_eq!(r.count, 3);
        assert_eq!(r.message, "3 spans rejected; first: span `short`: trace_id must be 16 bytes and not all zero");
        assert_eq!(payload.count_items(), 1);
    }

    #[test]
    fn nameless_metrics_are_removed_and_inconsistent_histograms_kept() {
        // The OTLP spec's own example has 3 bucket counts for 1 bound; receivers accept it.
        let histogram = Metric {
            name: "h".into(),
            data: Some(Data::Histogram(opentelemetry_proto::tonic::metrics::v1::Histogram {
                data_points: vec![HistogramDataPoint {
                    bucket_counts: vec![1, 1, 1],
                    explicit_bounds: vec![1.0],
                    ..Default::default()
                }],
                aggregation_temporality: 1,
            })),
            ..Default::default()
        };
        let nameless = Metric {
            name: String::new(),
            data: Some(Data::Gauge(Gauge { data_points: vec![NumberDataPoint::default(); 2] })),
            ..Default::default()
        };
        let mut payload = Payload::Metrics(ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics { metrics: vec![nameless, histogram], ..Default::default() }],
                ..Default::default()
            }],
        });
        let r = drop_invalid(&mut payload);
        assert_eq!(r.count, 2, "{r:?}");
        assert_eq!(r.message, "2 data points rejected; first: metric without a name");
        assert_eq!(payload.count_items(), 1);
    }
}
