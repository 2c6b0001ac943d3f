//! Renders a registry as OpenMetrics 1.0 or as the Prometheus text format 0.0.4.
//!
//! prometheus-client writes only OpenMetrics, so the 0.0.4 form is derived from it: counter
//! families are named with their `_total` suffix, `_created` samples, `# UNIT` lines,
//! exemplars and `# EOF` are dropped, and `info` families become gauges named `*_info`.

use prometheus_client::registry::Registry;

/// Which exposition format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpositionFormat {
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
    /// `text/plain; version=0.0.4`.
    Text004,
}

impl ExpositionFormat {
    /// Picks the format from an `Accept` header: OpenMetrics only when asked for.
    pub fn negotiate(accept: Option<&str>) -> Self {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => ExpositionFormat::OpenMetrics,
            _ => ExpositionFormat::Text004,
        }
    }

    /// The response `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            ExpositionFormat::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            ExpositionFormat::Text004 => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// Metrics that render themselves in either format (the derived metrics, whose label values
/// come from data and need escaping prometheus-client does not do).
pub trait Exposition: Send + Sync + std::fmt::Debug {
    /// Appends this source's families to `out`.
    fn encode(&self, out: &mut String, format: ExpositionFormat);
}

/// Encodes every registry, then every other source, as one exposition.
pub fn encode(
    registries: &[&Registry],
    others: &[&dyn Exposition],
    format: ExpositionFormat,
) -> Result<String, std::fmt::Error> {
    let mut open_metrics = String::new();
    for registry in registries {
        prometheus_client::encoding::text::encode_registry(&mut open_metrics, registry)?;
    }
    let mut out = match format {
        ExpositionFormat::OpenMetrics => open_metrics,
        ExpositionFormat::Text004 => to_text_004(&open_metrics),
    };
    for other in others {
        other.encode(&mut out, format);
    }
    if format == ExpositionFormat::OpenMetrics {
        prometheus_client::encoding::text::encode_eof(&mut out)?;
    }
    Ok(out)
}

/// Converts OpenMetrics text (without `# EOF`) to the 0.0.4 text format.
fn to_text_004(open_metrics: &str) -> String {
    let mut out = String::with_capacity(open_metrics.len());
    let mut pending_help: Option<&str> = None;
    let mut family = Family::Other;
    for line in open_metrics.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            pending_help = Some(rest);
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "unknown"));
            let (name, kind) = match kind {
                "counter" => {
                    family = Family::Counter;
                    (format!("{name}_total"), "counter")
                }
                "info" => {
                    family = Family::Other;
                    (format!("{name}_info"), "gauge")
                }
                "gaugehistogram" => {
                    family = Family::Other;
                    (name.to_owned(), "histogram")
                }
                "stateset" => {
                    family = Family::Other;
                    (name.to_owned(), "gauge")
                }
                "unknown" => {
                    family = Family::Other;
                    (name.to_owned(), "untyped")
                }
                other => {
                    family = Family::Other;
                    (name.to_owned(), other)
                }
            };
            if let Some(help) = pending_help.take() {
                let text = help.split_once(' ').map_or("", |(_, t)| t);
                out.push_str(&format!("# HELP {name} {text}\n"));
            }
            out.push_str(&format!("# TYPE {name} {kind}\n"));
            continue;
        }
        if line.starts_with("# UNIT ") || line == "# EOF" || line.starts_with('#') {
            continue;
        }
        let sample = strip_exemplar(line);
        if family == Family::Counter && sample_name(sample).ends_with("_created") {
            continue;
        }
        out.push_str(sample);
        out.push('\n');
    }
    out
}

#[derive(PartialEq, Eq)]
enum Family {
    Counter,
    Other,
}

fn sample_name(line: &str) -> &str {
    let end = line.find(['{', ' ']).unwrap_or(line.len());
    &line[..end]
}

/// Drops a trailing ` # {labels} value [ts]` exemplar, minding `#` inside label values.
fn strip_exemplar(line: &str) -> &str {
    let mut in_quotes = false;
    let mut escaped = false;
    let mut after_labels = 0;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '}' if !in_quotes => {
                after_labels = i + 1;
                break;
            }
            ' ' if !in_quotes && !line[..i].contains('{') => {
                after_labels = i;
                break;
            }
            _ => {}
        }
    }
    match line[after_labels..].find(" # ") {
        Some(pos) => &line[..after_labels + pos],
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::EncodeLabelSet;
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::exemplar::HistogramWithExemplars;
    use prometheus_client::metrics::family::Family as PFamily;
    use prometheus_client::metrics::info::Info;

    use super::*;

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct L {
        path: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct Trace {
        trace_id: String,
    }

    #[test]
    fn text_004_renames_counters_and_drops_openmetrics_only_lines() {
        let mut registry = Registry::default();
        let family = PFamily::<L, Counter>::default();
        registry.register("requests", "Requests served", family.clone());
        family.get_or_create(&L { path: "a # b}".into() }).inc_by(3);
        registry.register("build", "Build info", Info::new(vec![("version", "1")]));
        let hist = HistogramWithExemplars::new([1.0, 2.0].into_iter());
        hist.observe(1.5, Some(Trace { trace_id: "abc".into() }), None);
        registry.register("latency_seconds", "Latency", hist);

        let om = encode(&[&registry], &[], ExpositionFormat::OpenMetrics).expect("encode");
        assert!(om.ends_with("# EOF\n"));
        assert!(om.contains("# TYPE requests counter"));
        assert!(om.contains("trace_id=\"abc\""), "exemplar present in OpenMetrics:\n{om}");

        let text = encode(&[&registry], &[], ExpositionFormat::Text004).expect("encode");
        assert!(!text.contains("# EOF"));
        assert!(text.contains("# HELP requests_total Requests served.\n# TYPE requests_total counter\n"), "{text}");
        assert!(text.contains("requests_total{path=\"a # b}\"} 3\n"), "{text}");
        assert!(text.contains("# TYPE build_info gauge\nbuild_info{version=\"1\"} 1\n"), "{text}");
        assert!(!text.contains("trace_id"), "exemplars dropped:\n{text}");
        assert!(text.contains("latency_seconds_bucket{le=\"2.0\"} 1\n"), "{text}");
    }

    #[test]
    fn negotiation() {
        assert_eq!(ExpositionFormat::negotiate(None), ExpositionFormat::Text004);
        assert_eq!(ExpositionFormat::negotiate(Some("text/plain")), ExpositionFormat::Text004);
        assert_eq!(
            ExpositionFormat::negotiate(Some("application/openmetrics-text; version=1.0.0,text/plain;q=0.5")),
            ExpositionFormat::OpenMetrics
        );
    }
}
