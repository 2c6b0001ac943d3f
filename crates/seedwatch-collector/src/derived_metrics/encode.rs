//! Writing families in the text formats; the two formats differ only in counter headers and
//! exemplars here.

use std::fmt::Write;

use super::labels::write_escaped;
use crate::telemetry::ExpositionFormat;

/// `# HELP` and `# TYPE` lines.
pub(super) fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {}", help.replace('\\', "\\\\").replace('\n', "\\n"));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Counter headers: OpenMetrics names the family without `_total`, 0.0.4 with it.
pub(super) fn counter_header(out: &mut String, name: &str, help: &str, format: ExpositionFormat) {
    match format {
        ExpositionFormat::OpenMetrics => header(out, name, help, "counter"),
        ExpositionFormat::Text004 => header(out, &format!("{name}_total"), help, "counter"),
    }
}

/// A sample line without the newline (so an exemplar can follow).
pub(super) fn sample_start(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(k);
            out.push_str("=\"");
            write_escaped(out, v);
            out.push('"');
        }
        out.push('}');
    }
    let _ = write!(out, " {value}");
}

/// A whole sample line.
pub(super) fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    sample_start(out, name, labels, value);
    out.push('\n');
}

/// An OpenMetrics exemplar: ` # {trace_id="..."} value timestamp`.
pub(super) fn exemplar(out: &mut String, trace_id: &[u8; 16], value: f64, timestamp: f64) {
    out.push_str(" # {trace_id=\"");
    for b in trace_id {
        let _ = write!(out, "{b:02x}");
    }
    let _ = write!(out, "\"}} {value} {timestamp:.3}");
}
