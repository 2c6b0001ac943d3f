#!/usr/bin/env bash
# What TLS and a bearer token cost seedwatch, with less noise than one bench/throughput.sh
# row: ROUNDS alternating runs of the same collector config in plaintext and behind TLS + a
# token (a fresh collector and budget store each run, collector on CPU 0, load generator on
# CPU 1), then the mean spans per CPU-second of each and their ratio.
#
#   bench/tls_overhead.sh [grpc|http] [rounds, default 5] [duration per run, default 6s]
#
# Needs taskset, openssl and a release build (made here). Loopback ports 24317, 24318, 28889.
set -euo pipefail
cd "$(dirname "$0")/.."
PROTOCOL=${1:-http}
ROUNDS=${2:-5}
DURATION=${3:-6s}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
cargo build --release --locked -q -p seedwatch-collector -p seedwatch-loadgen

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/ca.key" -out "$WORK/ca.pem" \
  -days 1 -subj /CN=bench-ca -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/server.key" -out "$WORK/server.csr" \
  -subj /CN=127.0.0.1 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$WORK/server.ext"
openssl x509 -req -in "$WORK/server.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -set_serial 2 -days 1 \
  -out "$WORK/server.pem" -extfile "$WORK/server.ext" 2>/dev/null
TOKEN=bench-token-0123456789abcdef
PORT=24318; [ "$PROTOCOL" = grpc ] && PORT=24317

config() {
  cat <<YAML
receivers: {otlp: {grpc: {endpoint: "127.0.0.1:24317"}, http: {endpoint: "127.0.0.1:24318"}}}
admin: {endpoint: "127.0.0.1:28889"}
processors: {agent_metrics: {budgets: {store: {path: "$WORK/budgets/store.redb"}, limits: {global-daily: {limit_usd: 100}}}}}
service: {log: {level: warn}}
YAML
  [ "$1" = tls ] && cat <<YAML
security:
  tls: {cert_file: "$WORK/server.pem", key_file: "$WORK/server.key"}
  auth: {credentials: {tokens: [{name: bench, token: "$TOKEN", roles: [write]}]}}
YAML
  true
}
config plain > "$WORK/plain.yaml"
config tls > "$WORK/tls.yaml"

# one MODE: prints spans per CPU-second of the collector
one() {
  rm -rf "$WORK/budgets"; mkdir -p "$WORK/budgets"
  taskset -c 0 target/release/seedwatch run -c "$WORK/$1.yaml" >"$WORK/seedwatch.log" 2>&1 &
  local pid=$! scheme=http extra=()
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
  sleep 1
  if [ "$1" = tls ]; then scheme=https; extra=(--ca-file "$WORK/ca.pem" --header "authorization=Bearer $TOKEN"); fi
  local before after out
  before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  out=$(taskset -c 1 target/release/seedwatch-loadgen --protocol "$PROTOCOL" --endpoint "$scheme://127.0.0.1:$PORT" \
        --duration "$DURATION" --concurrency 16 --batch-size 100 "${extra[@]}" --json)
  after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  python3 -c 'import json, sys
r = json.loads(sys.argv[1]); cpu = (int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4])
assert r["requests_failed"] == 0, r
# A collector below ~95% of its CPU was waiting for the load generator: its figure is not
# comparable (per-request costs grow when requests trickle in).
busy = cpu / r["seconds"]
print(round(r["spans_accepted"] / cpu), "{:.0%}".format(busy))' "$out" "$before" "$after" "$(getconf CLK_TCK)"
}

plain=() tls=()
for round in $(seq 1 "$ROUNDS"); do
  read -r p p_busy < <(one plain)
  read -r t t_busy < <(one tls)
  plain+=("$p"); tls+=("$t")
  echo "round $round: plaintext $p (collector CPU busy $p_busy), TLS + token $t ($t_busy) spans per CPU-second" >&2
done
python3 - "$PROTOCOL" "${plain[*]}" "${tls[*]}" <<'PY'
import sys
proto, plain, tls = sys.argv[1], [int(x) for x in sys.argv[2].split()], [int(x) for x in sys.argv[3].split()]
p, t = sum(plain) / len(plain), sum(tls) / len(tls)
print(f"{proto}: plaintext {p:,.0f}, TLS + bearer token {t:,.0f} spans per CPU-second (mean of {len(plain)}): ratio {t / p:.2f}")
PY
