//! Reading OTLP protobuf in place, without materialising it: the receivers validate trace
//! requests with one pass and the derivation reads only the fields it needs, borrowed. Full
//! decoding with prost happens only for consumers that need the whole structure.

mod reader;
mod records;
mod traces;
mod validated;

pub use reader::WireError;
pub use records::{
    AnyRef, EventRef, FullLog, FullSpan, KeyValues, LinkRef, Origin, ResourceRef, ScopeRef, any_ref, array_values,
    each_log, each_span,
};
pub use traces::{SpanRef, TraceVisitor, resource_attributes, walk_request};
pub use validated::{RawValue, ValidatedVisitor, exception_type, walk_validated};

#[cfg(test)]
mod tests;
