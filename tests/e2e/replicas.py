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

from conftest import Collector, free_port, free_ports

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
    """nginx in front of the replicas: one port for OTLP/HTTP, one for OTLP/gRPC (HTTP/2),
    round robin, a failed upstream's requests passed to the next (POSTs included: a retried
    span is charged once). Each response names the replica that answered."""

    def __init__(self, workdir: Path, replicas: list[Collector]):
        self.http_port, self.grpc_port = free_ports(2)
        self.dir = workdir / "nginx"
        self.dir.mkdir(exist_ok=True)
        http_servers = "".join(f"    server 127.0.0.1:{r.http_port} max_fails=1 fail_timeout=30s;\n" for r in replicas)
        grpc_servers = "".join(f"    server 127.0.0.1:{r.grpc_port} max_fails=1 fail_timeout=30s;\n" for r in replicas)
        temp = "".join(f"  {k}_temp_path {self.dir}/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        user = "user root;\n" if os.geteuid() == 0 else ""
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(
            f"{user}worker_processes 1;\npid {self.dir}/nginx.pid;\nerror_log {self.dir}/error.log warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n  access_log off;\n  client_max_body_size 16m;\n" + temp +
            f"  upstream otlp_http {{\n{http_servers}  }}\n"
            f"  upstream otlp_grpc {{\n{grpc_servers}  }}\n"
            f"  server {{\n    listen 127.0.0.1:{self.http_port};\n    location / {{\n"
            "      proxy_pass http://otlp_http;\n      proxy_http_version 1.1;\n"
            "      proxy_set_header Connection \"\";\n"
            "      proxy_next_upstream error timeout http_502 http_503 non_idempotent;\n"
            "      add_header X-Upstream $upstream_addr always;\n    }\n  }\n"
            f"  server {{\n    listen 127.0.0.1:{self.grpc_port} http2;\n    location / {{\n"
            "      grpc_pass grpc://otlp_grpc;\n"
            "      grpc_next_upstream error timeout non_idempotent;\n    }\n  }\n}\n"
        )
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
