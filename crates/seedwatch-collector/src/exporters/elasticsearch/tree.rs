//! Nested JSON objects from dotted paths, written in one pass: given fields in path order
//! (see [`path_order`]), `service.name` then `service.version` become
//! `"service":{"name":..,"version":..}` without building a tree first.

use std::cmp::Ordering;

use super::json::string;

/// Writes one JSON object whose members are given as paths.
#[derive(Debug, Default)]
pub(super) struct Tree {
    /// Names of the objects open below the root, back to back.
    names: Vec<u8>,
    /// Where each open object's name ends in `names`.
    ends: Vec<usize>,
    /// Whether the innermost open object has a member already.
    needs_comma: bool,
    /// The last leaf written and its depth: a later path through it is skipped, since a
    /// document cannot hold both `a: 1` and `a.b: 2` (Elasticsearch refuses such documents).
    last_leaf: Vec<u8>,
    last_leaf_depth: usize,
}

impl Tree {
    /// Opens the root object.
    pub(super) fn begin(&mut self, out: &mut Vec<u8>) {
        self.names.clear();
        self.ends.clear();
        self.needs_comma = false;
        self.last_leaf.clear();
        self.last_leaf_depth = usize::MAX;
        out.push(b'{');
    }

    fn name(&self, depth: usize) -> &[u8] {
        let start = if depth == 0 { 0 } else { self.ends[depth - 1] };
        &self.names[start..self.ends[depth]]
    }

    fn close_to(&mut self, out: &mut Vec<u8>, depth: usize) {
        while self.ends.len() > depth {
            self.ends.pop();
            self.names.truncate(self.ends.last().copied().unwrap_or(0));
            out.push(b'}');
            self.needs_comma = true;
        }
    }

    fn comma(&mut self, out: &mut Vec<u8>) {
        if self.needs_comma {
            out.push(b',');
        }
        self.needs_comma = true;
    }

    /// Positions at `parents` (opening and closing objects as needed) and writes the member
    /// name `leaf`; the caller then writes its value. Returns false, writing nothing, when a
    /// parent is a leaf already written.
    pub(super) fn member<P: AsRef<[u8]>>(&mut self, out: &mut Vec<u8>, parents: &[P], leaf: &[u8]) -> bool {
        let common =
            (0..self.ends.len().min(parents.len())).take_while(|&d| self.name(d) == parents[d].as_ref()).count();
        let blocked = if common < parents.len() {
            self.last_leaf_depth == common && self.last_leaf == parents[common].as_ref()
        } else {
            // The same member twice in a row: only the first is kept.
            common == self.ends.len() && self.last_leaf_depth == common && self.last_leaf == leaf
        };
        if blocked {
            return false;
        }
        self.close_to(out, common);
        for name in &parents[common..] {
            let name = name.as_ref();
            self.comma(out);
            string(out, name);
            out.extend_from_slice(b":{");
            self.names.extend_from_slice(name);
            self.ends.push(self.names.len());
            self.needs_comma = false;
        }
        self.comma(out);
        string(out, leaf);
        out.push(b':');
        self.last_leaf.clear();
        self.last_leaf.extend_from_slice(leaf);
        self.last_leaf_depth = parents.len();
        true
    }

    /// Like [`Tree::member`] for a dotted path (`a.b.c`: parents `a`, `b`; leaf `c`).
    pub(super) fn path(&mut self, out: &mut Vec<u8>, path: &[u8]) -> bool {
        let mut parts: [&[u8]; 8] = [&[]; 8];
        let mut n = 0;
        let mut rest = path;
        while let Some(dot) = rest.iter().position(|b| *b == b'.') {
            if n == parts.len() - 1 {
                break;
            }
            parts[n] = &rest[..dot];
            n += 1;
            rest = &rest[dot + 1..];
        }
        self.member(out, &parts[..n], rest)
    }

    /// Closes every open object and the root.
    pub(super) fn end(&mut self, out: &mut Vec<u8>) {
        self.close_to(out, 0);
        out.push(b'}');
    }
}

/// Orders dotted paths so that every path under a prefix follows the prefix directly:
/// segment by segment, a shorter path first.
pub(super) fn path_order(a: &[u8], b: &[u8]) -> Ordering {
    let rank = |c: u8| if c == b'.' { 0u16 } else { u16::from(c) + 1 };
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return rank(*x).cmp(&rank(*y));
        }
    }
    a.len().cmp(&b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(paths: &[&str]) -> String {
        let mut sorted: Vec<&str> = paths.to_vec();
        sorted.sort_by(|a, b| path_order(a.as_bytes(), b.as_bytes()));
        let mut out = Vec::new();
        let mut tree = Tree::default();
        tree.begin(&mut out);
        for (n, p) in sorted.iter().enumerate() {
            if tree.path(&mut out, p.as_bytes()) {
                out.extend_from_slice(n.to_string().as_bytes());
            }
        }
        tree.end(&mut out);
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn paths_become_nested_objects() {
        assert_eq!(
            write(&["b", "a.x", "a-b", "a.y.z", "a.y.w", "ab"]),
            r#"{"a":{"x":0,"y":{"w":1,"z":2}},"a-b":3,"ab":4,"b":5}"#
        );
        let v: serde_json::Value = serde_json::from_str(&write(&["x.y", "x", "x.z.q"])).expect("valid json");
        assert_eq!(v, serde_json::json!({"x": 0}), "a leaf blocks paths through it");
        assert_eq!(write(&[]), "{}");
    }
}
