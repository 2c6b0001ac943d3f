"""The memory limiter against the real binary: with a 256 MiB limit, a slow downstream, 64
concurrent gzip bombs and a flood of 4 MiB batches, resident memory stays near the limit,
clients get retryable refusals, and every span that was accepted reaches the downstream."""

from __future__ import annotations

import gzip
import threading
import time

import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from hostile import RssSampler, agent_resource, peak_rss_bytes, tool_spans, traces_request
from hostile import SlowSink
from conftest import wait_until

MIB = 1 << 20


def test_a_256_mib_limit_holds_under_gzip_bombs_and_4_mib_batches(collector):
    sink = SlowSink(delay=0.2)
    c = collector(
        "limits: {memory: {limit: 256MiB}}\n"
        "pipeline: {queue_capacity: 10000000, queue_max_bytes: 1GiB}\n"
        "exporters:\n"
        f"  otlp/sink: {{endpoint: '{sink.url}', protocol: http/protobuf, queue_max_bytes: 1GiB}}\n"
    )
    sampler = RssSampler(c.proc.pid)
    # Decompresses to 32 MiB of zeros (the receiver's max_decompressed_size): a classic bomb.
    bomb = gzip.compress(b"\0" * (32 * MIB), compresslevel=9)
    stop = threading.Event()
    statuses: dict[int, int] = {}
    accepted: set[bytes] = set()
    lock = threading.Lock()

    def count(status: int):
        with lock:
            statuses[status] = statuses.get(status, 0) + 1

    def bomber():
        session = requests.Session()
        while not stop.is_set():
            r = session.post(
                f"{c.http}/v1/traces",
                data=bomb,
                headers={"content-type": "application/x-protobuf", "content-encoding": "gzip"},
                timeout=30,
            )
            count(r.status_code)
            if r.status_code in (429, 503):
                assert "retry-after" in r.headers
                time.sleep(0.05)

    def flooder(worker: int):
        session = requests.Session()
        n = 0
        while not stop.is_set():
            first = (worker * 1_000_000 + n + 1) * 100
            spans = tool_spans(100, first, padding=40_000)
            body = traces_request([(agent_resource("flood", f"w{worker}"), spans)])
            assert len(body) < 4 * MIB
            r = session.post(
                f"{c.http}/v1/traces", data=body, headers={"content-type": "application/x-protobuf"}, timeout=30
            )
            count(r.status_code)
            if r.status_code == 200:
                if ExportTraceServiceResponse.FromString(r.content).HasField("partial_success"):
                    count(-1)  # valid spans must never be rejected; checked below
                with lock:
                    accepted.update(s.trace_id + s.span_id for s in spans)
            elif r.status_code in (429, 503):
                assert "retry-after" in r.headers
                time.sleep(0.05)
            n += 1

    threads = [threading.Thread(target=bomber) for _ in range(64)]
    threads += [threading.Thread(target=flooder, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    time.sleep(20)
    stop.set()
    for t in threads:
        t.join(60)
    peak_sampled = sampler.stop()
    peak = peak_rss_bytes(c.proc.pid)

    refusals = statuses.get(503, 0) + statuses.get(429, 0)
    assert refusals > 0, statuses
    assert statuses.get(200, 0) > 0, statuses
    assert set(statuses) <= {200, 400, 413, 429, 503}, statuses  # -1: a partial success
    assert c.metric("seedwatch_memory_refusals_total") > 0
    # Nothing accepted is lost: once the slow downstream catches up, it has every span.
    delivered = wait_until(lambda: len(sink.span_ids) >= len(accepted), timeout=180, interval=1)
    if not delivered:
        related = {k: v for k, v in c.metrics().items() if "exporter" in k or "receiver" in k or "queue" in k}
        raise AssertionError(f"{len(sink.span_ids)} of {len(accepted)} spans delivered; {statuses}; {related}")
    assert accepted <= sink.span_ids
    sink.stop()
    print(f"statuses {statuses}; peak RSS {peak / MIB:.0f} MiB (sampled {peak_sampled / MIB:.0f}); "
          f"{len(accepted)} spans accepted, all delivered")
    assert peak < 256 * MIB * 1.25, f"peak RSS {peak / MIB:.0f} MiB"
