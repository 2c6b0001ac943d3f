#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need (Debian packages
# for the real Prometheus and Alertmanager and openssl for test certificates, a Python venv
# with the OpenTelemetry SDK, Rotel and kubernetes-validate), then runs format and lint
# checks, the Rust unit and integration tests, and the end-to-end tests against real peers
# on loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

step "system packages"
missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v mkfifo >/dev/null 2>&1 || missing+=(coreutils)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)   # test certificates (tests/e2e/certs.py)
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
promtool --version | head -1
prometheus-alertmanager --version 2>&1 | head -1

step "python environment (.venv-tests)"
[ -x .venv-tests/bin/python ] || python3 -m venv .venv-tests
.venv-tests/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --locked --all-targets -- -D warnings

step "rust tests"
cargo test --locked --workspace

step "end-to-end tests (release builds, as shipped)"
cargo build --release --locked --bin seedwatch --bin seedwatch-loadgen --bin seedwatch-demo-agent
PATH="$PWD/.venv-tests/bin:$PATH" .venv-tests/bin/python -m pytest -c tests/pytest.ini -q
