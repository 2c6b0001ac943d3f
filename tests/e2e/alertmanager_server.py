"""A real Alertmanager (Debian package `prometheus-alertmanager`) on a loopback port."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import requests

from conftest import free_port, wait_http_ready

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


class Alertmanager:
    def __init__(self, workdir: Path, config: Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if config is None:
            config = workdir / "alertmanager.yml"
            config.write_text(
                "route: {receiver: 'null', group_wait: 0s, group_interval: 1s, repeat_interval: 1h}\n"
                "receivers: [{name: 'null'}]\n"
            )
        self.log = (workdir / "alertmanager.log").open("w")
        self.proc = subprocess.Popen(
            [
                ALERTMANAGER,
                f"--config.file={config}",
                f"--storage.path={workdir / 'alertmanager-data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",  # no gossip port: a single instance
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_http_ready(f"{self.url}/-/ready", self.proc, "alertmanager")

    def alerts(self, **filters) -> list[dict]:
        """Alerts as Alertmanager's v2 API lists them (active, silenced, inhibited, unprocessed)."""
        resp = requests.get(f"{self.url}/api/v2/alerts", params=filters, timeout=5)
        resp.raise_for_status()
        return resp.json()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)
