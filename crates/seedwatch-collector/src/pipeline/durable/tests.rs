use std::io::Write;
use std::time::Duration;

use bytesize::ByteSize;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};

use super::*;
use crate::pipeline::{Payload, Transport};

/// A logs batch whose one record's body is `tag` padded to `size` bytes.
fn batch(tag: u32, size: usize) -> Batch {
    let body = format!("{tag:08}{}", "x".repeat(size.saturating_sub(8)));
    let record =
        LogRecord { body: Some(AnyValue { value: Some(any_value::Value::StringValue(body)) }), ..Default::default() };
    let req = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs { log_records: vec![record], ..Default::default() }],
            ..Default::default()
        }],
    };
    Batch::new(Payload::Logs(req.into()), Transport::Grpc)
}

fn tag(batch: &Batch) -> u32 {
    let Payload::Logs(data) = batch.payload() else { panic!("logs expected") };
    let req = data.request();
    let body = &req.resource_logs[0].scope_logs[0].log_records[0].body;
    let Some(AnyValue { value: Some(any_value::Value::StringValue(s)) }) = body else { panic!("string body") };
    s[..8].parse().expect("tag")
}

fn config(dir: &Path, max: ByteSize) -> DurableQueueConfig {
    DurableQueueConfig { directory: dir.to_owned(), max_size: max, fsync: false }
}

fn drain_ready(reader: &mut DurableReader) -> Vec<u32> {
    std::iter::from_fn(|| reader.next_ready().expect("read")).map(|b| tag(&b)).collect()
}

#[tokio::test]
async fn delivers_in_order_and_forgets_what_was_committed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path(), ByteSize::mib(1));
    {
        let (writer, mut reader) = open("es", &cfg).expect("open");
        for i in 0..50 {
            writer.append(&batch(i, 10_000)).await.expect("append");
        }
        assert_eq!(drain_ready(&mut reader), (0..50).collect::<Vec<_>>());
        reader.commit().expect("commit");
        assert_eq!(writer.stats().size(), 0, "delivered segments are deleted");
        writer.append(&batch(50, 100)).await.expect("append after a full delivery");
        assert_eq!(drain_ready(&mut reader), vec![50]);
        reader.commit().expect("commit");
    }
    let (_writer, mut reader) = open("es", &cfg).expect("reopen");
    assert!(drain_ready(&mut reader).is_empty(), "nothing is delivered twice after a clean commit");
}

#[tokio::test]
async fn what_was_read_but_not_committed_comes_back_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path(), ByteSize::mib(4));
    {
        let (writer, mut reader) = open("es", &cfg).expect("open");
        for i in 0..20 {
            writer.append(&batch(i, 50_000)).await.expect("append");
        }
        for _ in 0..5 {
            reader.next_ready().expect("read").expect("a batch");
        }
        reader.commit().expect("commit");
        for _ in 0..7 {
            reader.next_ready().expect("read").expect("a batch");
        }
        // Dropped here without committing the last 7: as if the process were killed.
    }
    let (_writer, mut reader) = open("es", &cfg).expect("reopen");
    assert_eq!(drain_ready(&mut reader), (5..20).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_full_queue_makes_writers_wait_until_delivery_frees_room() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (writer, mut reader) = open("es", &config(dir.path(), ByteSize::mib(1))).expect("open");
    let mut written = 0;
    while tokio::time::timeout(Duration::from_millis(100), writer.append(&batch(written, 100_000))).await.is_ok() {
        written += 1;
        assert!(written < 20, "the cap must stop the writer");
    }
    assert!(writer.stats().size() <= 1024 * 1024, "cap kept: {}", writer.stats().size());
    let waiting = tokio::spawn({
        let writer = writer.clone();
        async move { writer.append(&batch(1000, 100_000)).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiting.is_finished(), "still waiting for room");
    let read = drain_ready(&mut reader);
    assert_eq!(read, (0..written).collect::<Vec<_>>(), "the timed-out append wrote nothing");
    reader.commit().expect("commit");
    tokio::time::timeout(Duration::from_secs(5), waiting).await.expect("room made").expect("task").expect("append");
    assert_eq!(drain_ready(&mut reader), vec![1000]);
}

#[tokio::test]
async fn a_torn_record_at_the_end_is_cut_off_and_the_rest_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path(), ByteSize::mib(4));
    {
        let (writer, _reader) = open("es", &cfg).expect("open");
        for i in 0..3 {
            writer.append(&batch(i, 1000)).await.expect("append");
        }
    }
    let queue_dir = dir.path().join("es");
    let last = segments::list_segments(&queue_dir).expect("list").pop().expect("a segment");
    let mut file =
        std::fs::OpenOptions::new().append(true).open(segments::segment_path(&queue_dir, last)).expect("seg");
    let torn = record::encode(&batch(3, 1000));
    file.write_all(&torn[..torn.len() / 2]).expect("write half a record");
    drop(file);
    let (writer, mut reader) = open("es", &cfg).expect("reopen");
    writer.append(&batch(4, 1000)).await.expect("append after repair");
    assert_eq!(drain_ready(&mut reader), vec![0, 1, 2, 4]);
}

#[tokio::test]
async fn one_directory_serves_one_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path(), ByteSize::mib(4));
    let _held = open("es", &cfg).expect("open");
    assert!(matches!(open("es", &cfg), Err(DurableError::Locked(_))));
    assert!(open("otlp", &cfg).is_ok(), "another exporter has its own sub-directory");
}

#[tokio::test]
async fn the_reader_ends_when_the_writers_are_gone_and_all_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (writer, mut reader) = open("es", &config(dir.path(), ByteSize::mib(4))).expect("open");
    writer.append(&batch(7, 100)).await.expect("append");
    drop(writer);
    let first = tokio::time::timeout(Duration::from_secs(1), reader.next()).await.expect("no wait");
    assert_eq!(first.expect("read").map(|b| tag(&b)), Some(7));
    let end = tokio::time::timeout(Duration::from_secs(1), reader.next()).await.expect("no wait");
    assert!(end.expect("read").is_none());
}

#[tokio::test]
async fn logs_come_back_as_the_bytes_written_counted_and_not_decoded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (writer, mut reader) = open("es", &config(dir.path(), ByteSize::mib(1))).expect("open");
    let written = batch(3, 100);
    writer.append(&written).await.expect("append");
    let read = reader.next_ready().expect("read").expect("a batch");
    let (Payload::Logs(before), Payload::Logs(after)) = (written.payload(), read.payload()) else { panic!("logs") };
    assert!(after.is_raw_only(), "an exporter that wants bytes gets them without a decode and an encode");
    assert_eq!(read.items(), 1);
    assert_eq!(after.encoded(), before.encoded());
    assert_eq!(tag(&read), 3);
}
