#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need (Debian packages
# for the real Prometheus and Alertmanager, openssl for test certificates, Chromium for the
# dashboard's browser tests, Redis and nginx for replicas, a Python venv
# with the OpenTelemetry SDK, Rotel and kubernetes-validate, one venv per GenAI
# instrumentation library and the Vercel AI SDK from npm), then runs format and lint checks,
# the Rust unit and integration tests, the end-to-end tests against real peers on loopback
# ports, and a short benchmark smoke run that prints its ratios.
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
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)     # the Vercel AI SDK (tests/genai/vercel-ai)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium chromium-driver)  # the dashboard in a real browser
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)  # shared state of replicas
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)                    # the load balancer in front of them
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
promtool --version | head -1
prometheus-alertmanager --version 2>&1 | head -1

step "python environment (.venv-tests)"
[ -x .venv-tests/bin/python ] || python3 -m venv .venv-tests
.venv-tests/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt

step "GenAI instrumentation libraries (tests/genai: a venv each, pinned whole; npm ci)"
# They pin different versions of `openai` and the OpenTelemetry SDK, hence a venv each. Made
# side by side in the background while the Rust checks run; waited for before the e2e tests.
genai_log=$(mktemp)
(
  pids=()
  for lib in openllmetry openinference openlit pydantic-ai; do
    (
      [ -x ".venv-genai-$lib/bin/python" ] || python3 -m venv ".venv-genai-$lib"
      ".venv-genai-$lib/bin/pip" install -q --disable-pip-version-check -r "tests/genai/$lib.txt"
    ) &
    pids+=($!)
  done
  (cd tests/genai/vercel-ai && npm ci --no-audit --no-fund --loglevel=error) &
  pids+=($!)
  status=0
  for pid in "${pids[@]}"; do wait "$pid" || status=1; done
  exit $status
) >"$genai_log" 2>&1 &
genai_pid=$!

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --locked --all-targets -- -D warnings

step "rust tests"
cargo test --locked --workspace

if ! wait "$genai_pid"; then
  cat "$genai_log"
  echo "installing the GenAI instrumentation libraries failed" >&2
  exit 1
fi

step "end-to-end tests (release builds, as shipped)"
cargo build --release --locked --bin seedwatch --bin seedwatch-loadgen --bin seedwatch-demo-agent
PATH="$PWD/.venv-tests/bin:$PATH" .venv-tests/bin/python -m pytest -c tests/pytest.ini -q

# Printed so that a regression shows in every CI log; nothing is asserted on time (a shared
# CI machine scatters): docs/benchmarks.md has the real runs.
step "benchmark smoke: seedwatch against Rotel, shared state, agent instrumentation (ratios, not asserted)"
BENCH_VENV=.venv-tests NO_ES=1 bench/throughput.sh "${BENCH_SMOKE_DURATION:-3s}"
cargo bench --locked -q -p seedwatch-agent --bench instrumentation -- --quick --noplot >/dev/null
.venv-tests/bin/python bench/agent_ratios.py
