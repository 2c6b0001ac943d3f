"""A real Prometheus server (Debian package `prometheus`) on a loopback port, scraping a target."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import requests

from conftest import free_port, wait_http_ready

PROMETHEUS = shutil.which("prometheus")


class Prometheus:
    def __init__(
        self, workdir: Path, target: str, rule_files: list[Path] | None = None, alertmanager: str | None = None
    ):
        """Scrapes `target` (host:port) every second, evaluating `rule_files` and sending what
        fires to `alertmanager` (host:port), when given."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = workdir / "prometheus.yml"
        rules = "".join(f"\n  - '{r}'" for r in rule_files or [])
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            + (f"rule_files:{rules}\n" if rules else "")
            + (f"alerting: {{alertmanagers: [{{static_configs: [{{targets: ['{alertmanager}']}}]}}]}}\n" if alertmanager else "")
            + "scrape_configs:\n"
            f"  - job_name: seedwatch\n    static_configs: [{{targets: ['{target}']}}]\n"
        )
        self.log = (workdir / "prometheus.log").open("w")
        self.proc = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--enable-feature=exemplar-storage",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_http_ready(f"{self.url}/-/ready", self.proc, "prometheus")

    def query(self, promql: str) -> list[dict]:
        body = requests.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=5).json()
        assert body["status"] == "success", body
        return body["data"]["result"]

    def scalar(self, promql: str) -> float | None:
        result = self.query(promql)
        return float(result[0]["value"][1]) if result else None

    def wait_for(self, promql: str, expected: float, timeout: float = 30, tolerance: float = 1e-9) -> float | None:
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.scalar(promql)
            if value is not None and abs(value - expected) <= tolerance:
                return value
            time.sleep(0.5)
        return value

    def exemplars(self, promql: str) -> list[dict]:
        now = time.time()
        body = requests.get(
            f"{self.url}/api/v1/query_exemplars", params={"query": promql, "start": now - 600, "end": now + 60}, timeout=5
        ).json()
        assert body["status"] == "success", body
        return body["data"]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)
