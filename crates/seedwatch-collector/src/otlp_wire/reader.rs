//! Protobuf wire format, read in place. The rules match prost's decoder exactly (which the
//! tests check differentially): keys, 10-byte varints with the overflow check, wire types,
//! length bounds, group skipping and the recursion limit.

/// Why bytes are not a valid message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WireError(pub &'static str);

/// prost's recursion limit for nested messages.
pub const RECURSION_LIMIT: u32 = 100;

/// Protobuf wire types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// Varint.
    Varint,
    /// 8 bytes.
    Fixed64,
    /// Length-prefixed.
    Len,
    /// Group start (deprecated).
    StartGroup,
    /// Group end (deprecated).
    EndGroup,
    /// 4 bytes.
    Fixed32,
}

/// A cursor over a message's bytes.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads `buf` from the start.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// True when every byte was consumed.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// A base-128 varint of at most 10 bytes.
    #[inline]
    pub fn varint(&mut self) -> Result<u64, WireError> {
        // Most keys and lengths fit in one byte.
        if let Some((&b, rest)) = self.buf.split_first()
            && b < 0x80
        {
            self.buf = rest;
            return Ok(u64::from(b));
        }
        self.varint_slow()
    }

    fn varint_slow(&mut self) -> Result<u64, WireError> {
        let mut value = 0u64;
        for (i, &b) in self.buf.iter().take(10).enumerate() {
            if i == 9 && b >= 0x02 {
                return Err(WireError("invalid varint"));
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                self.buf = &self.buf[i + 1..];
                return Ok(value);
            }
        }
        Err(WireError("invalid varint"))
    }

    /// A field key: (field number, wire type).
    #[inline]
    pub fn key(&mut self) -> Result<(u32, Wire), WireError> {
        let key = self.varint()?;
        if key > u64::from(u32::MAX) {
            return Err(WireError("invalid key"));
        }
        let wire = match key & 7 {
            0 => Wire::Varint,
            1 => Wire::Fixed64,
            2 => Wire::Len,
            3 => Wire::StartGroup,
            4 => Wire::EndGroup,
            5 => Wire::Fixed32,
            _ => return Err(WireError("invalid wire type")),
        };
        let field = (key as u32) >> 3;
        if field == 0 {
            return Err(WireError("invalid tag"));
        }
        Ok((field, wire))
    }

    #[inline]
    fn take(&mut self, n: u64) -> Result<&'a [u8], WireError> {
        if n > self.buf.len() as u64 {
            return Err(WireError("buffer underflow"));
        }
        let (head, tail) = self.buf.split_at(n as usize);
        self.buf = tail;
        Ok(head)
    }

    /// The payload of a length-delimited field.
    #[inline]
    pub fn len_delimited(&mut self) -> Result<&'a [u8], WireError> {
        let n = self.varint()?;
        self.take(n)
    }

    /// 8 little-endian bytes.
    pub fn fixed64(&mut self) -> Result<u64, WireError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }

    /// 4 little-endian bytes.
    pub fn fixed32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Skips an unknown field; `depth` is the nesting budget left (as prost counts it).
    pub fn skip(&mut self, wire: Wire, field: u32, depth: u32) -> Result<(), WireError> {
        if depth == 0 {
            return Err(WireError("recursion limit reached"));
        }
        match wire {
            Wire::Varint => self.varint().map(drop),
            Wire::Fixed64 => self.take(8).map(drop),
            Wire::Fixed32 => self.take(4).map(drop),
            Wire::Len => self.len_delimited().map(drop),
            Wire::StartGroup => loop {
                let (inner, inner_wire) = self.key()?;
                if inner_wire == Wire::EndGroup {
                    return if inner == field { Ok(()) } else { Err(WireError("unexpected end group tag")) };
                }
                self.skip(inner_wire, inner, depth - 1)?;
            },
            Wire::EndGroup => Err(WireError("unexpected end group tag")),
        }
    }
}

/// Checks a field's wire type against the schema's.
pub fn expect(wire: Wire, want: Wire) -> Result<(), WireError> {
    if wire == want { Ok(()) } else { Err(WireError("invalid wire type")) }
}

/// A string field: length-delimited and UTF-8.
pub fn string<'a>(r: &mut Reader<'a>, wire: Wire) -> Result<&'a str, WireError> {
    expect(wire, Wire::Len)?;
    std::str::from_utf8(r.len_delimited()?).map_err(|_| WireError("invalid string value: data is not UTF-8 encoded"))
}

/// A string field checked but not kept: length-delimited and UTF-8. Most strings on the wire
/// are ASCII, which a word-at-a-time check confirms in a fraction of a full UTF-8 validation.
#[inline]
pub fn check_string(r: &mut Reader<'_>, wire: Wire) -> Result<(), WireError> {
    expect(wire, Wire::Len)?;
    let b = r.len_delimited()?;
    if b.is_ascii() || std::str::from_utf8(b).is_ok() {
        Ok(())
    } else {
        Err(WireError("invalid string value: data is not UTF-8 encoded"))
    }
}

/// A bytes field.
pub fn bytes<'a>(r: &mut Reader<'a>, wire: Wire) -> Result<&'a [u8], WireError> {
    expect(wire, Wire::Len)?;
    r.len_delimited()
}

/// A varint scalar (int32/int64/uint32/bool/enum).
pub fn varint(r: &mut Reader<'_>, wire: Wire) -> Result<u64, WireError> {
    expect(wire, Wire::Varint)?;
    r.varint()
}

/// A nested message's bytes, with prost's recursion check; the caller walks them with
/// `depth - 1`.
pub fn message<'a>(r: &mut Reader<'a>, wire: Wire, depth: u32) -> Result<&'a [u8], WireError> {
    expect(wire, Wire::Len)?;
    if depth == 0 {
        return Err(WireError("recursion limit reached"));
    }
    r.len_delimited()
}
