"""Process-level shutdown: SIGTERM drains queued data to the exporters and exits 0; a second
signal exits at once."""

import json
import os
import signal
import threading
import time

from otel_clients import exporters, send_traces


def test_sigterm_drains_to_the_exporter_and_exits_0(collector, tmp_path):
    out = tmp_path / "spans.jsonl"
    c = collector(f"exporters:\n  file: {{path: '{out}'}}\n")
    span_exp, _, _ = exporters("http/protobuf", c.grpc, c.http)
    sent = send_traces(span_exp, spans_per_workflow=5, workflows=20)
    assert c.stop(signal.SIGTERM) == 0
    log = c.log.read_text()
    assert "shut down cleanly" in log
    spans = sum(
        len(ss["spans"])
        for line in out.read_text().splitlines()
        for rs in json.loads(line)["resourceSpans"]
        for ss in rs["scopeSpans"]
    )
    assert spans == sent.items == 100


def test_second_signal_exits_at_once(collector, tmp_path):
    fifo = tmp_path / "blocked.fifo"
    os.mkfifo(fifo)
    # Hold the read end open but never read, so the exporter blocks and draining cannot finish.
    holder = threading.Thread(target=lambda: fifo.open("rb") and time.sleep(30), daemon=True)
    holder.start()
    c = collector(f"exporters:\n  file: {{path: '{fifo}'}}\nservice: {{shutdown_timeout: 60s}}\n")
    span_exp, _, _ = exporters("grpc", c.grpc, c.http)
    # About 1 MB of OTLP/JSON, far more than the 64 KiB pipe buffer holds.
    send_traces(span_exp, spans_per_workflow=10, workflows=240)
    c.proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    assert c.proc.poll() is None, "still draining after the first signal"
    started = time.monotonic()
    c.proc.send_signal(signal.SIGINT)
    assert c.proc.wait(timeout=5) == 130
    assert time.monotonic() - started < 5
    assert "second signal" in c.log.read_text()
