//! The fields of one ECS document as they are gathered (fixed ECS slots, free `gen_ai.*`
//! paths, labels), then written as nested JSON in one pass. Gathering first is what lets the
//! last of several attributes for one field win and keeps duplicate keys out of a document.

use std::cmp::Ordering;

use crate::otlp_wire::AnyRef;

use super::ecs::{PLACES, Slot};
use super::json;
use super::tree::{Tree, path_order};

/// A field value, borrowed from the request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Val<'a> {
    /// An OTLP value as JSON.
    Any(AnyRef<'a>),
    /// An OTLP value's JSON as a string (arrays and maps where only text is mapped).
    AnyText(AnyRef<'a>),
    /// A fixed string.
    Static(&'static str),
    /// A count (nanoseconds).
    UInt(u64),
    /// A time, Unix nanoseconds, as RFC 3339.
    Time(u64),
    /// An id as lower-case hex.
    Id(&'a [u8]),
    /// The file name of a path.
    FileName(&'a [u8]),
}

/// Writes a value.
pub(super) fn write_val(out: &mut Vec<u8>, scratch: &mut Vec<u8>, value: Val<'_>) {
    match value {
        Val::Any(v) => json::any(out, v),
        Val::AnyText(v) => {
            scratch.clear();
            json::any(scratch, v);
            json::string(out, scratch);
        }
        Val::Static(s) => json::string(out, s.as_bytes()),
        Val::UInt(n) => json::int(out, n),
        Val::Time(t) => json::timestamp(out, t),
        Val::Id(id) => {
            out.push(b'"');
            json::hex(out, id);
            out.push(b'"');
        }
        Val::FileName(path) => {
            let name = path.rsplit(|b| *b == b'/' || *b == b'\\').next().unwrap_or(path);
            json::string(out, name);
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Label<'a> {
    key: &'a [u8],
    value: AnyRef<'a>,
    numeric: bool,
}

/// A label's name: the attribute key with dots turned into `_`.
fn label_byte(b: u8) -> u8 {
    if b == b'.' { b'_' } else { b }
}

fn label_order(a: &Label<'_>, b: &Label<'_>) -> Ordering {
    a.numeric
        .cmp(&b.numeric)
        .then_with(|| a.key.iter().map(|c| label_byte(*c)).cmp(b.key.iter().map(|c| label_byte(*c))))
}

/// Buffers reused from document to document.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    /// The nested-object writer.
    pub(super) tree: Tree,
    /// Values rendered as text.
    pub(super) text: Vec<u8>,
    name: Vec<u8>,
}

/// One document's fields while they are gathered.
#[derive(Debug)]
pub(super) struct Fields<'a> {
    slots: [Option<Val<'a>>; PLACES.len()],
    free: Vec<(&'a [u8], Val<'a>)>,
    labels: Vec<Label<'a>>,
}

impl Default for Fields<'_> {
    fn default() -> Self {
        Fields { slots: [None; PLACES.len()], free: Vec::new(), labels: Vec::new() }
    }
}

impl<'a> Fields<'a> {
    /// Forgets every field (keeps the allocations).
    pub(super) fn clear(&mut self) {
        self.slots = [None; PLACES.len()];
        self.free.clear();
        self.labels.clear();
    }

    /// Sets an ECS field.
    pub(super) fn set(&mut self, slot: Slot, value: Val<'a>) {
        self.slots[slot as usize] = Some(value);
    }

    /// Sets an id field, unless the id is absent or all zero.
    pub(super) fn set_id(&mut self, slot: Slot, id: &'a [u8]) {
        if json::is_id(id) {
            self.set(slot, Val::Id(id));
        }
    }

    /// Adds a field under its own dotted path (`gen_ai.*`, `workflow.*`).
    pub(super) fn free(&mut self, path: &'a [u8], value: Val<'a>) {
        self.free.push((path, value));
    }

    /// Adds a label: numbers to `numeric_labels`, the rest to `labels`.
    pub(super) fn label(&mut self, key: &'a [u8], value: AnyRef<'a>) {
        let numeric = matches!(value, AnyRef::Int(_) | AnyRef::Double(_));
        self.labels.push(Label { key, value, numeric });
    }

    /// Writes the document.
    pub(super) fn write(&mut self, out: &mut Vec<u8>, scratch: &mut Scratch) {
        let Scratch { tree, text, name } = scratch;
        tree.begin(out);
        for (slot, (parents, leaf)) in self.slots.iter().zip(PLACES) {
            if let Some(value) = slot
                && tree.member(out, parents, leaf.as_bytes())
            {
                write_val(out, text, *value);
            }
        }
        write_free(out, tree, text, &mut self.free);
        self.labels.sort_by(label_order);
        for (i, label) in self.labels.iter().enumerate() {
            if self.labels.get(i + 1).is_some_and(|next| label_order(label, next) == Ordering::Equal) {
                continue; // the later one wins
            }
            name.clear();
            name.extend(label.key.iter().map(|c| label_byte(*c)));
            let group: &[u8] = if label.numeric { b"numeric_labels" } else { b"labels" };
            if tree.member(out, &[group], name) {
                let value = match label.value {
                    v @ (AnyRef::Array(_) | AnyRef::Kvlist(_)) => Val::AnyText(v),
                    v => Val::Any(v),
                };
                write_val(out, text, value);
            }
        }
        tree.end(out);
    }
}

/// Writes fields with dotted paths, sorted into tree order; of equal paths the last given wins.
pub(super) fn write_free(out: &mut Vec<u8>, tree: &mut Tree, scratch: &mut Vec<u8>, free: &mut [(&[u8], Val<'_>)]) {
    free.sort_by(|a, b| path_order(a.0, b.0));
    for (i, (path, value)) in free.iter().enumerate() {
        if free.get(i + 1).is_some_and(|next| next.0 == *path) {
            continue;
        }
        if tree.path(out, path) {
            write_val(out, scratch, *value);
        }
    }
}
