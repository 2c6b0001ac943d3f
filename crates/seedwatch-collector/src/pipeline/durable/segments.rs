//! The queue's files: numbered segment files holding records back to back, and a cursor file
//! naming the first record not yet delivered.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::record::{HEADER, Header};

/// A place in the queue: segment number and byte offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(super) struct Position {
    pub(super) segment: u64,
    pub(super) offset: u64,
}

pub(super) fn segment_path(dir: &Path, segment: u64) -> PathBuf {
    dir.join(format!("{segment:020}.seg"))
}

/// Segment numbers present in `dir`, ascending.
pub(super) fn list_segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut ids = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".seg")) else { continue };
        if let Ok(id) = stem.parse() {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// Reads the cursor; `None` when there is none yet or it cannot be read.
pub(super) fn read_cursor(dir: &Path) -> Option<Position> {
    let text = fs::read_to_string(dir.join("cursor")).ok()?;
    let mut parts = text.split_whitespace().map(str::parse::<u64>);
    match (parts.next(), parts.next()) {
        (Some(Ok(segment)), Some(Ok(offset))) => Some(Position { segment, offset }),
        _ => None,
    }
}

/// Replaces the cursor atomically (write aside, then rename). Not synced: a killed process
/// loses nothing (the page cache survives it); after a power loss an older cursor means
/// replaying a few batches, which the at-least-once contract allows.
pub(super) fn write_cursor(dir: &Path, at: Position) -> io::Result<()> {
    let tmp = dir.join("cursor.tmp");
    fs::write(&tmp, format!("{} {}\n", at.segment, at.offset))?;
    fs::rename(tmp, dir.join("cursor"))
}

/// A record read from a segment.
pub(super) enum Read {
    /// A whole, checked record: its header and body.
    Record(Header, Vec<u8>),
    /// Nothing more at this offset.
    End,
    /// A torn or damaged record starts here.
    Damaged,
}

/// Reads the record at `offset` of a segment that is `len` bytes long.
pub(super) fn read_record(file: &File, offset: u64, len: u64) -> io::Result<Read> {
    if offset + HEADER as u64 > len {
        return Ok(if offset == len { Read::End } else { Read::Damaged });
    }
    let mut raw = [0u8; HEADER];
    file.read_exact_at(&mut raw, offset)?;
    let header = Header::parse(&raw);
    if offset + header.record_len() > len {
        return Ok(Read::Damaged);
    }
    let mut body = vec![0u8; header.body_len as usize];
    file.read_exact_at(&mut body, offset + HEADER as u64)?;
    Ok(if header.checks(&raw, &body) { Read::Record(header, body) } else { Read::Damaged })
}

/// What a scan of the undelivered part of the queue found.
pub(super) struct Scan {
    /// Records and items from the cursor on.
    pub(super) records: u64,
    pub(super) items: u64,
    /// Bytes cut off damaged segment tails.
    pub(super) truncated: u64,
}

/// Checks every record from `from` to the end, cutting each segment at its first damaged
/// record (a crash mid-write leaves at most one, at the end of the last segment).
pub(super) fn scan_and_repair(dir: &Path, segments: &[u64], from: Position) -> io::Result<Scan> {
    let mut scan = Scan { records: 0, items: 0, truncated: 0 };
    for &segment in segments.iter().filter(|&&s| s >= from.segment) {
        let path = segment_path(dir, segment);
        let file = OpenOptions::new().read(true).write(true).open(&path)?;
        let len = file.metadata()?.len();
        let mut offset = if segment == from.segment { from.offset.min(len) } else { 0 };
        loop {
            match read_record(&file, offset, len)? {
                Read::Record(header, _) => {
                    scan.records += 1;
                    scan.items += u64::from(header.items);
                    offset += header.record_len();
                }
                Read::End => break,
                Read::Damaged => {
                    tracing::error!(file = %path.display(), offset, lost_bytes = len - offset, "damaged record in the durable queue; cutting the segment there");
                    scan.truncated += len - offset;
                    file.set_len(offset)?;
                    break;
                }
            }
        }
    }
    Ok(scan)
}

/// Opens a segment for appending, creating it.
pub(super) fn open_for_append(dir: &Path, segment: u64) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(segment_path(dir, segment))
}

/// Appends one record.
pub(super) fn append(file: &mut File, record: &[u8], sync: bool) -> io::Result<()> {
    file.write_all(record)?;
    if sync { file.sync_data() } else { Ok(()) }
}
