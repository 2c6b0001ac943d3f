"""Three seedwatch replicas sharing one Redis (Debian `redis-server`) behind nginx (Debian
`nginx-light`) balancing OTLP/HTTP and OTLP/gRPC round robin, for tests/e2e/test_replicas.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import requests

from conftest import ROOT, Collector, free_port, free_ports

NGINX = "/usr/sbin/nginx"


class RedisServer:
    """redis-server on a loopback port with an append-only file fsynced on every write, so
    that a stop and a start keep what it held (as a production Redis should)."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.dir = workdir / "redis"
        self.dir.mkdir(exist_ok=True)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.dir)],
            stdout=(self.dir / "redis.log").open("a"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.cli("PING") == "PONG":
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def cli(self, *args: str) -> str:
        run = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True)
        return run.stdout.strip()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)


class Nginx:
    """nginx in front of the replicas with the shipped deploy/nginx/nginx.conf (its upstreams
    and ports replaced): OTLP/HTTP and OTLP/gRPC round robin, a failed upstream's requests
    passed to the next. Each HTTP response names the replica that answered."""

    def __init__(self, workdir: Path, replicas: list[Collector]):
        self.http_port, self.grpc_port = free_ports(2)
        self.dir = workdir / "nginx"
        self.dir.mkdir(exist_ok=True)
        conf = (ROOT / "deploy" / "nginx" / "nginx.conf").read_text()
        for i, r in enumerate(replicas, 1):
            conf = conf.replace(f"seedwatch-{i}:4318", f"127.0.0.1:{r.http_port}")
            conf = conf.replace(f"seedwatch-{i}:4317", f"127.0.0.1:{r.grpc_port}")
        conf = conf.replace("listen 4318;", f"listen 127.0.0.1:{self.http_port};")
        conf = conf.replace("listen 4317 http2;", f"listen 127.0.0.1:{self.grpc_port} http2;")
        conf = conf.replace("worker_processes auto;", "worker_processes 1;")
        assert "seedwatch-" not in conf.split("upstream", 1)[1].split("server {", 1)[0], "every upstream replaced"
        temp = "".join(f"  {k}_temp_path {self.dir}/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        user = "user root;\n" if os.geteuid() == 0 else ""
        own = f"{user}pid {self.dir}/nginx.pid;\nerror_log {self.dir}/error.log warn;\n"
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(own + conf.replace("http {\n", "http {\n" + temp, 1))
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(self.dir), "-c", str(self.conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=(self.dir / "stderr.log").open("w"),
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.dir / 'stderr.log').read_text()}")
            try:
                requests.get(f"http://127.0.0.1:{self.http_port}/", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def replica_config(workdir: Path, index: int, redis_url: str, alertmanager_url: str, limits: str) -> str:
    """A replica: shared state in Redis, budgets flushed every 200 ms, workflows closed 2 s
    after their last span, summaries and state changes to a file per replica."""
    data = workdir / f"data-{index}"
    return (
        "processors:\n  agent_metrics:\n"
        "    workflows: {idle_timeout: 2s}\n"
        "    health: {window: 1m, llm_error_rate: 0.05}\n"
        "    budgets:\n"
        f"      store: {{path: '{data}/budgets.redb', flush_interval: 200ms}}\n"
        f"      limits: {limits}\n"
        f"exporters:\n  file: {{path: '{workdir}/logs-{index}.jsonl', signals: [logs]}}\n"
        + (f"alerting:\n  alertmanager: {{url: '{alertmanager_url}', resend_interval: 30s}}\n" if alertmanager_url else "")
        + f"redis: {{url: '{redis_url}', sync_interval: 500ms, lease_ttl: 3s, command_timeout: 500ms, connect_timeout: 500ms}}\n"
    )


def summaries(workdir: Path, replicas: int) -> list[tuple[int, dict]]:
    """Every workflow summary record written by any replica: (replica, record with its
    resource's `service.name` under `service`)."""
    found = []
    for i in range(replicas):
        path = workdir / f"logs-{i}.jsonl"
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            for rl in json.loads(line).get("resourceLogs", []):
                service = attribute(rl.get("resource", {}), "service.name")
                for sl in rl.get("scopeLogs", []):
                    for record in sl.get("logRecords", []):
                        if record.get("eventName") == "seedwatch.workflow.summary":
                            found.append((i, {**record, "service": service}))
    return found


def attribute(record: dict, key: str):
    for kv in record.get("attributes", []):
        if kv["key"] == key:
            value = kv["value"]
            return next(iter(value.values()))
    return None
