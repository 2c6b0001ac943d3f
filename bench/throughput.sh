#!/usr/bin/env bash
# Throughput of seedwatch against Rotel (a pass-through Rust OTel collector) on the same
# traffic, in one run: the receiver under test is pinned to CPU 0, the load generator to CPU 1.
# For each receiver and protocol it reports accepted spans/s, spans per CPU-second of the
# receiver process, and the receiver's peak RSS, then the seedwatch/Rotel ratios.
#
# A `seedwatch+tls` row per protocol serves the same config behind TLS (an ECDSA P-256
# certificate made here with openssl) and a bearer token on every request; the summary gives
# its spans per CPU-second against the plaintext seedwatch row of the same run.
#
# A further row per protocol, `seedwatch+es`, adds the elasticsearch exporter with its durable
# queue, as shipped (gzip on), writing to a local Elasticsearch-compatible server (noida-db, on
# CPU 1 with the load generator); a fourth, `seedwatch+es-plain`, the same with `gzip: false`,
# which is what a cluster on the same host or network wants. Its CPU is counted until every accepted span is in Elasticsearch, so the whole
# export (documents, gzip, disk queue, bulk requests) is paid for in its spans per CPU-second.
# noida-db indexes only about 1,500 documents/s here, so this row sends a fixed number of
# spans (ES_REQUESTS requests, default 300) instead of running for the duration; its spans/s
# column is therefore not comparable, its spans per CPU-second is.
#
#   bench/throughput.sh [duration, default 20s]
#
# The fair reference for those rows is a real serialising exporter to a real broker: a
# `rotel+kafka` row per protocol runs Rotel exporting to Kafka in JSON (noida-db's Kafka API;
# `--traces-batch-max-size 800` keeps a message under the broker's 1 MB limit) on the same
# number of requests, its CPU counted until the topic holds every span (end offset, read with
# kafka-python, ≥ spans / 800) and Rotel is idle. The summary gives seedwatch+es against it.
#
# A `seedwatch+redis` row per protocol runs the same config with shared state in Redis
# (`redis-server` from Debian on CPU 1, with an append-only file as production would): one
# replica, its spans per CPU-second against the embedded seedwatch row, Redis calls per OTLP
# request and Redis's own CPU seconds. NO_REDIS=1 skips it.
#
# SEEDWATCH_BASE=path/to/another/seedwatch adds a `seedwatch-base` row per protocol: that binary
# (an earlier build, say) on the same config, for an A/B in one run; the summary gives its
# spans per CPU-second against the seedwatch row. NO_ES=1 skips the Elasticsearch rows.
#
# Needs: taskset (util-linux), openssl, a release build (made here), Rotel, noida-db and
# kafka-python from PyPI (installed into .venv-bench, or $BENCH_VENV, here), redis-server
# (Debian) for the Redis row. Reads /proc, so Linux only. Loopback ports 24317-24320, 26379, 28889, 29092 and 29200.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-20s}
CONCURRENCY=${CONCURRENCY:-16}
BATCH=${BATCH:-100}
CLK_TCK=$(getconf CLK_TCK)
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

cargo build --release --locked -q -p seedwatch-collector -p seedwatch-loadgen
# BENCH_VENV: another venv to install into (CI's smoke run reuses the tests' one).
VENV=${BENCH_VENV:-.venv-bench}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check rotel==0.0.1a15 noida-db==0.2.3 kafka-python==2.2.15
ROTEL=$("$VENV/bin/python" -c 'import rotel, pathlib; print(pathlib.Path(rotel.__file__).parent / "rotel-agent")')
NOIDA=$("$VENV/bin/python" -c 'import noida_db, pathlib; print(pathlib.Path(noida_db.__file__).parent / "noida-db")')
SEEDWATCH=target/release/seedwatch
LOADGEN=target/release/seedwatch-loadgen

cat > "$WORK/seedwatch.yaml" <<YAML
receivers:
  otlp:
    grpc: {endpoint: "127.0.0.1:24317"}
    http: {endpoint: "127.0.0.1:24318"}
admin: {endpoint: "127.0.0.1:28889"}
processors:
  agent_metrics:
    # As shipped: per-agent health and the guide's global budget (charged per LLM call).
    budgets:
      store: {path: "$WORK/budgets/store.redb"}
      limits: {global-daily: {limit_usd: 100}}
service: {log: {level: warn}}
YAML
# TLS and a bearer token for the seedwatch+tls row.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/ca.key" -out "$WORK/ca.pem" \
  -days 1 -subj /CN=bench-ca -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/server.key" -out "$WORK/server.csr" \
  -subj /CN=127.0.0.1 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$WORK/server.ext"
openssl x509 -req -in "$WORK/server.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -set_serial 2 -days 1 \
  -out "$WORK/server.pem" -extfile "$WORK/server.ext" 2>/dev/null
TOKEN=bench-token-0123456789abcdef
cp "$WORK/seedwatch.yaml" "$WORK/seedwatch-tls.yaml"
cat >> "$WORK/seedwatch-tls.yaml" <<YAML
security:
  tls: {cert_file: "$WORK/server.pem", key_file: "$WORK/server.key"}
  auth: {credentials: {tokens: [{name: bench, token: "$TOKEN", roles: [write, read]}]}}
YAML

cp "$WORK/seedwatch.yaml" "$WORK/seedwatch-es.yaml"
cat >> "$WORK/seedwatch-es.yaml" <<YAML
exporters:
  elasticsearch:
    endpoint: http://127.0.0.1:29200
    persistent_queue: {directory: "$WORK/queue", max_size: 4GiB}
YAML

sed 's|^    endpoint: http://127.0.0.1:29200$|&\n    gzip: false|; s|/queue"|/queue-plain"|' "$WORK/seedwatch-es.yaml" > "$WORK/seedwatch-es-plain.yaml"
grep -q 'gzip: false' "$WORK/seedwatch-es-plain.yaml"

cp "$WORK/seedwatch.yaml" "$WORK/seedwatch-redis.yaml"
echo 'redis: {url: "redis://127.0.0.1:26379/0"}' >> "$WORK/seedwatch-redis.yaml"

# Messages in the otlp_traces topic (Rotel's Kafka exporter writes one per batch).
kafka_messages() {
  "$VENV/bin/python" - <<'PY'
from kafka import KafkaConsumer, TopicPartition
c = KafkaConsumer(bootstrap_servers="127.0.0.1:29092", request_timeout_ms=5000, api_version_auto_timeout_ms=5000)
parts = c.partitions_for_topic("otlp_traces") or set()
print(sum(c.end_offsets([TopicPartition("otlp_traces", p) for p in parts]).values()) if parts else 0)
PY
}

# The collector's own /metrics (no curl on a fresh machine).
scrape() {
  python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:28889/metrics", timeout=5).read().decode())' 2>/dev/null || true
}

# Spans searchable in noida-db's trace indices, and a fresh start for them: the load
# generator sends the same ids in every row, so each Elasticsearch row starts with none.
es_spans() {
  python3 - <<'PY' 2>/dev/null || echo 0
import json, urllib.request
base = "http://127.0.0.1:29200"
names = urllib.request.urlopen(base + "/_cat/indices?h=index", timeout=5).read().decode().split()
print(sum(json.load(urllib.request.urlopen(f"{base}/{n}/_count", timeout=5))["count"]
          for n in names if n.startswith("modelseed-traces")))
PY
}
es_clear() {
  python3 - <<'PY'
import urllib.request
base = "http://127.0.0.1:29200"
for n in urllib.request.urlopen(base + "/_cat/indices?h=index", timeout=5).read().decode().split():
    if n.startswith("modelseed-"):
        urllib.request.urlopen(urllib.request.Request(f"{base}/{n}", method="DELETE"), timeout=30).read()
PY
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
peak_rss_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
# A server left on one of these ports (an earlier run, a noida-db started by hand) would be
# measured instead of the one this run starts: refuse to run (after 10 s, for a previous run's
# servers to finish exiting).
for p in 24317 24318 24319 24320 26379 28889 29092 29200; do
  for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || continue 2; sleep 0.2; done
  echo "port $p is already in use: stop what listens there first" >&2; exit 1
done

wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on $1" >&2; return 1
}

# run NAME PROTOCOL PORT -- receiver command...
run() {
  local name=$1 protocol=$2 port=$3; shift 4
  # Every run starts with no budget spend and no replay marks: a store left by the previous
  # run would make this one check its spans against marks that one wrote.
  rm -rf "$WORK/budgets"; mkdir -p "$WORK/budgets"
  [ "$name" = seedwatch+redis ] && redis-cli -p 26379 FLUSHALL >/dev/null
  if [[ $name == seedwatch+es* ]]; then es_clear; fi
  taskset -c 0 "$@" >"$WORK/$name.log" 2>&1 &
  local pid=$!
  wait_port "$port"
  sleep 1
  local before; before=$(cpu_ticks "$pid")
  [ "$name" = seedwatch+redis ] && REDIS_BEFORE=$(cpu_ticks "$(cat "$WORK/redis.pid")")
  [ "$name" = rotel+kafka ] && KAFKA_BEFORE=$(kafka_messages)
  local endpoint="http://127.0.0.1:$port" secure=()
  local out amount=(--duration "$DURATION")
  case $name in seedwatch+es* | rotel+kafka) amount=(--requests "${ES_REQUESTS:-300}") ;; esac
  if [ "$name" = seedwatch+tls ]; then
    endpoint="https://127.0.0.1:$port"
    secure=(--ca-file "$WORK/ca.pem" --header "authorization=Bearer $TOKEN")
  fi
  out=$(taskset -c 1 "$LOADGEN" --protocol "$protocol" --endpoint "$endpoint" "${amount[@]}" \
        --concurrency "$CONCURRENCY" --batch-size "$BATCH" "${secure[@]}" --json)
  if [[ $name == seedwatch+es* ]]; then
    # Count the CPU until every accepted span is searchable in noida-db, asked of noida-db
    # (as Rotel's row asks the broker): scraping seedwatch's /metrics instead cost it ~0.8 ms
    # of CPU a scrape, up to a tenth of the row. Its idle CPU (~1.5 ms/s) while it waits counts.
    local accepted; accepted=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["spans_accepted"])' "$out")
    local stored=0
    for _ in $(seq 1 1200); do
      stored=$(es_spans)
      [ "${stored:-0}" -ge "$accepted" ] 2>/dev/null && break
      sleep 0.5
    done
    echo "$name $protocol: $accepted accepted, ${stored:-0} searchable in Elasticsearch" >&2
  fi
  if [ "$name" = rotel+kafka ]; then
    # Count the CPU until every accepted span is in the topic (800 per message) and Rotel idles.
    local accepted; accepted=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["spans_accepted"])' "$out")
    local want=$(( KAFKA_BEFORE + (accepted + 799) / 800 )) held=0
    for _ in $(seq 1 300); do
      held=$(kafka_messages)
      [ "$held" -ge "$want" ] && break
      sleep 1
    done
    local idle_from; idle_from=$(cpu_ticks "$pid")
    sleep 1
    while [ "$(cpu_ticks "$pid")" -gt "$idle_from" ]; do idle_from=$(cpu_ticks "$pid"); sleep 1; done
    echo "$name $protocol: $accepted accepted, $(( held - KAFKA_BEFORE )) messages of up to 800 spans in Kafka" >&2
  fi
  if [ "$name" = seedwatch+redis ]; then
    sleep 2  # the last flush and sync
    local calls redis_after
    calls=$(scrape | awk '/^seedwatch_redis_calls_total\{/ {n += $2} END {print n + 0}')
    redis_after=$(cpu_ticks "$(cat "$WORK/redis.pid")")
    python3 - "$protocol" "$out" "$calls" "$REDIS_BEFORE" "$redis_after" "$CLK_TCK" >>"$WORK/redis.tsv" <<'PY'
import json, sys
proto, out, calls, before, after, tck = sys.argv[1:]
r = json.loads(out)
print("\t".join(map(str, [proto, r["requests_ok"], calls, (int(after) - int(before)) / int(tck)])))
PY
  fi
  local after; after=$(cpu_ticks "$pid")
  local rss; rss=$(peak_rss_kib "$pid")
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  python3 - "$name" "$protocol" "$out" "$before" "$after" "$CLK_TCK" "$rss" >>"$WORK/results.tsv" <<'PY'
import json, sys
name, proto, out, before, after, tck, rss = sys.argv[1:]
r = json.loads(out)
cpu = (int(after) - int(before)) / int(tck)
print("\t".join(map(str, [name, proto, r["spans_accepted"], r["seconds"], r["spans_per_second"], cpu,
                          r["spans_accepted"] / cpu if cpu else 0, int(rss) / 1024, r["latency_ms"]["p99"],
                          r["requests_refused"], r["requests_failed"]])))
PY
}

mkdir -p "$WORK/noida"
(cd "$WORK/noida" && exec taskset -c 1 "$NOIDA" start --only elasticsearch --elasticsearch-port 29200 >"$WORK/noida.log" 2>&1) &
wait_port 29200
if [ -z "${NO_ES:-}" ]; then
  mkdir -p "$WORK/noida-kafka"
  (cd "$WORK/noida-kafka" && exec taskset -c 1 "$NOIDA" start --only kafka --kafka-port 29092 >"$WORK/noida-kafka.log" 2>&1) &
  wait_port 29092
fi
if [ -z "${NO_REDIS:-}" ]; then
  mkdir -p "$WORK/redis"
  taskset -c 1 redis-server --port 26379 --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec \
    --dir "$WORK/redis" --pidfile "$WORK/redis.pid" --daemonize yes >/dev/null
  wait_port 26379
fi

for protocol in grpc http; do
  port=24317; [ "$protocol" = http ] && port=24318
  run rotel "$protocol" "$port" -- "$ROTEL" start --otlp-grpc-endpoint 127.0.0.1:24317 \
      --otlp-http-endpoint 127.0.0.1:24318 --exporter blackhole --pid-file "$WORK/rotel.pid"
  run seedwatch "$protocol" "$port" -- "$SEEDWATCH" run -c "$WORK/seedwatch.yaml"
  run seedwatch+tls "$protocol" "$port" -- "$SEEDWATCH" run -c "$WORK/seedwatch-tls.yaml"
  if [ -n "${SEEDWATCH_BASE:-}" ]; then
    run seedwatch-base "$protocol" "$port" -- "$SEEDWATCH_BASE" run -c "$WORK/seedwatch.yaml"
  fi
  if [ -z "${NO_REDIS:-}" ]; then
    run seedwatch+redis "$protocol" "$port" -- "$SEEDWATCH" run -c "$WORK/seedwatch-redis.yaml"
  fi
  if [ -z "${NO_ES:-}" ]; then
    run rotel+kafka "$protocol" "$port" -- "$ROTEL" start --otlp-grpc-endpoint 127.0.0.1:24317 \
        --otlp-http-endpoint 127.0.0.1:24318 --exporter kafka --kafka-exporter-brokers 127.0.0.1:29092 \
        --kafka-exporter-format json --traces-batch-max-size 800
    run seedwatch+es "$protocol" "$port" -- "$SEEDWATCH" run -c "$WORK/seedwatch-es.yaml"
    run seedwatch+es-plain "$protocol" "$port" -- "$SEEDWATCH" run -c "$WORK/seedwatch-es-plain.yaml"
  fi
done

[ -z "${NO_REDIS:-}" ] && redis-cli -p 26379 shutdown nosave >/dev/null 2>&1 || true
python3 - "$WORK/results.tsv" "$DURATION" "$CONCURRENCY" "$BATCH" "$WORK/redis.tsv" <<'PY'
import os, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
print(f"duration {sys.argv[2]}, concurrency {sys.argv[3]}, {sys.argv[4]} spans/request, receiver on CPU 0, load generator on CPU 1\n")
print("| receiver | protocol | spans accepted | spans/s | receiver CPU s | spans per CPU-second | peak RSS MiB | p99 ms | refused | failed |")
print("|---|---|---|---|---|---|---|---|---|---|")
by = {}
for name, proto, spans, secs, sps, cpu, per_cpu, rss, p99, refused, failed in rows:
    by[(name, proto)] = (float(sps), float(per_cpu), float(rss))
    print(f"| {name} | {proto} | {int(spans)} | {float(sps):,.0f} | {float(cpu):.2f} | {float(per_cpu):,.0f} | {float(rss):.1f} | {float(p99):.2f} | {refused} | {failed} |")
print()
print("| protocol | seedwatch/Rotel spans/s | seedwatch/Rotel spans per CPU-second | seedwatch/Rotel peak RSS |")
print("|---|---|---|---|")
for proto in ("grpc", "http"):
    for name in ("seedwatch", "seedwatch-base", "seedwatch+es", "seedwatch+es-plain"):
        if ("rotel", proto) in by and (name, proto) in by:
            r, s = by[("rotel", proto)], by[(name, proto)]
            label = {"seedwatch": proto, "seedwatch-base": f"{proto}, SEEDWATCH_BASE", "seedwatch+es": f"{proto}, with Elasticsearch export",
                     "seedwatch+es-plain": f"{proto}, with Elasticsearch export, gzip off"}[name]
            print(f"| {label} | {s[0]/r[0]:.2f} | {s[1]/r[1]:.2f} | {s[2]/r[2]:.2f} |")
print()
print("| protocol | TLS + bearer token / plaintext spans/s | TLS + bearer token / plaintext spans per CPU-second |")
print("|---|---|---|")
for proto in ("grpc", "http"):
    if ("seedwatch", proto) in by and ("seedwatch+tls", proto) in by:
        p, t = by[("seedwatch", proto)], by[("seedwatch+tls", proto)]
        print(f"| {proto} | {t[0]/p[0]:.2f} | {t[1]/p[1]:.2f} |")
if any(k[0] == "rotel+kafka" for k in by):
    print()
    print("| protocol | seedwatch+es / rotel+kafka spans per CPU-second (both until delivered) | peak RSS seedwatch+es / rotel+kafka |")
    print("|---|---|---|")
    for proto in ("grpc", "http"):
        for name in ("seedwatch+es", "seedwatch+es-plain"):
            if ("rotel+kafka", proto) in by and (name, proto) in by:
                k, e = by[("rotel+kafka", proto)], by[(name, proto)]
                print(f"| {proto}{', gzip off' if name.endswith('plain') else ''} | {e[1] / k[1]:.2f} | {e[2] / k[2]:.2f} |")
if os.path.exists(sys.argv[5]):
    print()
    print("| protocol | seedwatch+redis / seedwatch spans per CPU-second | Redis calls per OTLP request | Redis CPU s |")
    print("|---|---|---|---|")
    for line in open(sys.argv[5]):
        proto, requests, calls, redis_cpu = line.rstrip("\n").split("\t")
        if ("seedwatch", proto) in by and ("seedwatch+redis", proto) in by:
            ratio = by[("seedwatch+redis", proto)][1] / by[("seedwatch", proto)][1]
            print(f"| {proto} | {ratio:.2f} | {float(calls) / max(int(requests), 1):.4f} | {float(redis_cpu):.2f} |")
if ("seedwatch", "grpc") in by and any(k[0] == "seedwatch-base" for k in by):
    print()
    print("| protocol | seedwatch / SEEDWATCH_BASE spans per CPU-second |")
    print("|---|---|")
    for proto in ("grpc", "http"):
        if ("seedwatch", proto) in by and ("seedwatch-base", proto) in by:
            print(f"| {proto} | {by[('seedwatch', proto)][1] / by[('seedwatch-base', proto)][1]:.2f} |")
PY
