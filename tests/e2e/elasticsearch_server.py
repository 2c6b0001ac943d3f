"""A real Elasticsearch-compatible server for round trips: noida-db (PyPI), serving the
Elasticsearch 8 REST API on a loopback port, its data in a folder of the test's own."""

from __future__ import annotations

import subprocess
from pathlib import Path

import noida_db
import requests

from conftest import free_port, wait_http_ready


class Elasticsearch:
    """One noida-db process; stop and start it again on the same port and data."""

    def __init__(self, workdir: Path):
        self.dir = workdir / "noida"
        self.dir.mkdir(exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        # The binary itself, not the `noida-db` console script: that wrapper runs it as a
        # child, so stopping the wrapper would leave the server running.
        self.binary = str(Path(noida_db.__file__).parent / "noida-db")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Elasticsearch":
        log = (self.dir / "noida.log").open("a")
        self.proc = subprocess.Popen(
            [self.binary, "start", "--only", "elasticsearch", "--elasticsearch-port", str(self.port)],
            cwd=self.dir,  # it keeps its data in ./.noida-db
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_http_ready(self.url, self.proc, "noida-db")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)

    def search(self, index: str, query: dict | None = None, size: int = 10000) -> list[dict]:
        requests.post(f"{self.url}/_refresh", timeout=10)
        body = {"size": size, "query": query or {"match_all": {}}}
        resp = requests.post(f"{self.url}/{index}/_search", json=body, timeout=30)
        if resp.status_code == 404:
            return []
        resp.raise_for_status()
        return resp.json()["hits"]["hits"]

    def count(self, index: str, query: dict | None = None) -> int:
        requests.post(f"{self.url}/_refresh", timeout=10)
        resp = requests.post(f"{self.url}/{index}/_count", json={"query": query or {"match_all": {}}}, timeout=30)
        if resp.status_code == 404:
            return 0
        resp.raise_for_status()
        return resp.json()["count"]
