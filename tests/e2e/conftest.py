"""Fixtures for end-to-end tests: a real `seedwatch` process on free loopback ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
# The end-to-end tests run the binaries as shipped: release builds (tests/run.sh builds them).
BIN_DIR = Path(os.environ.get("SEEDWATCH_BIN_DIR", ROOT / "target" / "release"))
BIN = Path(os.environ.get("SEEDWATCH_BIN", BIN_DIR / "seedwatch"))


def free_ports(n: int) -> list[int]:
    """`n` distinct free loopback ports: all are held bound until every one is picked, so two
    picks in a row cannot return the same port."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def free_port() -> int:
    return free_ports(1)[0]


def wait_until(check, timeout: float = 20, interval: float = 0.1):
    """Calls `check` until it returns something truthy or the timeout passes; returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def wait_http_ready(url: str, proc: subprocess.Popen, what: str, timeout: float = 30) -> None:
    """Waits until `url` answers 200 (a server's readiness path); fails if `proc` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not become ready")


def parse_exposition(text: str) -> dict[str, float]:
    """Sample name with labels (as written) -> value, from the Prometheus text format."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        samples[key] = float(value)
    return samples


class Collector:
    """A seedwatch process with its own config, ports and log."""

    def __init__(
        self,
        workdir: Path,
        extra_yaml: str = "",
        env: dict | None = None,
        http_extra: str = "",
        grpc_extra: str = "",
        admin_extra: str = "",
        session: requests.Session | None = None,
        embedded: bool = False,
    ):
        """`http_extra`, `grpc_extra` and `admin_extra` are more keys of those listeners, in flow
        style (`max_body_size: 1MiB, connections: {idle_timeout: 5s}`). `session` is how the
        test talks to the admin server (a CA to trust, a client certificate, a credential); a
        session with `verify` set means the collector serves TLS. `embedded` runs the embedded
        default config (no `-c`), its endpoints and data directory set through its variables."""
        self.workdir = workdir
        self.session = session or requests.Session()
        self.scheme = "https" if isinstance(self.session.verify, str) else "http"
        self.grpc_port, self.http_port, self.admin_port = free_ports(3)
        self.config = workdir / f"seedwatch-{self.admin_port}.yaml"
        more = lambda extra: f", {extra}" if extra else ""  # noqa: E731
        self.config.write_text(
            "receivers:\n  otlp:\n"
            f"    grpc: {{endpoint: '127.0.0.1:{self.grpc_port}'{more(grpc_extra)}}}\n"
            f"    http: {{endpoint: '127.0.0.1:{self.http_port}'{more(http_extra)}}}\n"
            f"admin: {{endpoint: '127.0.0.1:{self.admin_port}'{more(admin_extra)}}}\n" + extra_yaml
        )
        self.log = workdir / f"seedwatch-{self.admin_port}.log"
        self.env = {**os.environ, **(env or {})}
        self.embedded = embedded
        if embedded:
            self.env.update(
                SEEDWATCH_OTLP_GRPC_ENDPOINT=f"127.0.0.1:{self.grpc_port}",
                SEEDWATCH_OTLP_HTTP_ENDPOINT=f"127.0.0.1:{self.http_port}",
                SEEDWATCH_ADMIN_ENDPOINT=f"127.0.0.1:{self.admin_port}",
                SEEDWATCH_DATA_DIR=str(workdir / f"data-{self.admin_port}"),
            )
        self.proc: subprocess.Popen | None = None

    @property
    def admin(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.admin_port}"

    @property
    def grpc(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.grpc_port}"

    @property
    def http(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.http_port}"

    def start(self, wait_ready: bool = True) -> "Collector":
        self.proc = subprocess.Popen(
            [str(BIN), "run", *([] if self.embedded else ["-c", str(self.config)])],
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"),
            env=self.env,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"seedwatch exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                status = self.session.get(f"{self.admin}/health/ready", timeout=1).status_code
                if status == 200 or (status == 503 and not wait_ready):
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"seedwatch not ready in time:\n{self.log.read_text()}")

    def metrics(self) -> dict[str, float]:
        response = self.session.get(f"{self.admin}/metrics", timeout=5)
        response.raise_for_status()
        return parse_exposition(response.text)

    def metric(self, sample: str) -> float:
        return self.metrics()[sample]

    def wait_for(self, sample: str, expected: float, timeout: float = 30) -> float:
        """Polls until the sample reaches `expected` (or the timeout); returns the last value."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.metrics().get(sample)
            if value == expected:
                return value
            time.sleep(0.1)
        return value

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 40) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)


@pytest.fixture
def collector(tmp_path):
    """Starts collectors on demand; every one is stopped at the end of the test."""
    started: list[Collector] = []

    def make(extra_yaml: str = "", env: dict | None = None, wait_ready: bool = True, **receivers) -> Collector:
        c = Collector(tmp_path, extra_yaml, env, **receivers).start(wait_ready)
        started.append(c)
        return c

    yield make
    for c in started:
        if c.proc and c.proc.poll() is None:
            c.proc.kill()
            c.proc.wait()
