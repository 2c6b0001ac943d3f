"""Test certificates made with the `openssl` command: a CA, server certificates for 127.0.0.1
and localhost, and client certificates with a DNS subject alternative name."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@dataclass
class Pair:
    cert: Path
    key: Path


class Authority:
    """A CA in `directory` that issues server and client certificates."""

    def __init__(self, directory: Path, name: str = "seedwatch-test-ca"):
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.cert = self.dir / f"{name}.pem"
        self.key = self.dir / f"{name}.key"
        _openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(self.key), "-out", str(self.cert), "-days", "2", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=self.dir,
        )
        self.serial = 1

    def issue(self, name: str, sans: list[str], client: bool = False) -> Pair:
        """A certificate for `sans` (`DNS:x` or `IP:x`), for a server or a client."""
        key, csr, cert, ext = (self.dir / f"{name}.{s}" for s in ("key", "csr", "pem", "ext"))
        _openssl(
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={name}",
            cwd=self.dir,
        )
        usage = "clientAuth" if client else "serverAuth"
        ext.write_text(
            f"subjectAltName={','.join(sans)}\nextendedKeyUsage={usage}\nbasicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature\n"
        )
        self.serial += 1
        _openssl(
            "x509", "-req", "-in", str(csr), "-CA", str(self.cert), "-CAkey", str(self.key),
            "-set_serial", str(self.serial), "-days", "2", "-out", str(cert), "-extfile", str(ext),
            cwd=self.dir,
        )
        return Pair(cert, key)

    def server(self, name: str = "server") -> Pair:
        return self.issue(name, ["IP:127.0.0.1", "DNS:localhost"])

    def client(self, name: str, dns: str) -> Pair:
        return self.issue(name, [f"DNS:{dns}"], client=True)
