#!/usr/bin/env bash
# PostgreSQL beside SQLite, in one run on this machine (ratios travel):
#   1. durable ingest, events/s in NDJSON batches of 100 (wrk -t2 -c16 +
#      bench/ingest.lua) into `portal serve` on SQLite and on PostgreSQL
#      (a throwaway cluster with fsync and synchronous commit on)
#   2. GET /api/v1/projection throughput (wrk -t2 -c64) on the demo data set,
#      on each backend
#   3. latency from an event acknowledged by replica A to its delivery on
#      replica B's stream (both on the PostgreSQL database), p50/p99, 100
#      subscribers at 100 events/s (bench/sse_latency.c with POST_PORT);
#      the reference: the same with one replica posting and streaming
# Usage: bench/pg.sh [seconds]    (installs wrk and postgresql if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
need=()
command -v wrk >/dev/null || need+=(wrk)
[[ -x /usr/lib/postgresql/15/bin/initdb ]] || need+=(postgresql)
if ((${#need[@]})); then
	sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get install -y -q "${need[@]}" >/dev/null
fi
make -s build/portal
work=$(mktemp -d)
pgdir=$(mktemp -d /tmp/portal-pg-bench.XXXXXX)
url=$(PG_DURABLE=1 bash scripts/pg-temp.sh start "$pgdir" 2>/dev/null)
cc -O2 -o "$work/sse_latency" bench/sse_latency.c $(pkg-config --cflags --libs libevent libevent_pthreads) -lpthread
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; bash scripts/pg-temp.sh stop "$pgdir"; rm -rf "$work"' EXIT
ulimit -n 8192
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rate() { wrk -t2 -c"${3:-64}" -d"${secs}s" ${2:+-s "$2"} ${4:+-H "$4"} "$1" | awk '/Requests\/sec/ {print $2}'; }
wait_up() { for _ in $(seq 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "not up: $1" >&2; return 1; }
fresh_pg() { # a new database on the cluster: prints its URL
	local name=$1
	psql "$url" -qAt -c "CREATE DATABASE $name" >/dev/null
	echo "${url%/*}/$name"
}

# --- 1. ingest
declare -A eps
for backend in sqlite pg; do
	if [[ $backend == sqlite ]]; then db="$work/ingest.db"; else db=$(fresh_pg ingest); fi
	build/portal migrate --db "$db" >/dev/null
	export PORTAL_TOKEN
	PORTAL_TOKEN=$(build/portal token create --name bench --scope "events:write read" --db "$db" 2>/dev/null)
	build/portal serve --listen 127.0.0.1:18961 --db "$db" --threads 2 --log-level warn 2>"$work/ingest-$backend.log" &
	p=$!
	wait_up http://127.0.0.1:18961/readyz
	r=$(rate http://127.0.0.1:18961/api/v1/events bench/ingest.lua 16)
	kill $p; wait $p 2>/dev/null || true
	eps[$backend]=$(awk -v r="$r" 'BEGIN { printf "%.0f", r * 100 }')
done
echo "== 1. durable ingest, NDJSON batches of 100, wrk -t2 -c16 -d${secs}s"
printf '%-44s %10s events/s %6s\n' 'portal on SQLite (WAL, synchronous=FULL)' "${eps[sqlite]}" 1.00
printf '%-44s %10s events/s %6s\n' 'portal on PostgreSQL 15 (fsync on)' "${eps[pg]}" "$(ratio "${eps[pg]}" "${eps[sqlite]}")"

# --- 2. snapshot throughput
declare -A rps
for backend in sqlite pg; do
	if [[ $backend == sqlite ]]; then db="$work/demo.db"; else db=$(fresh_pg demo); fi
	build/portal demo --db "$db" >/dev/null
	reader=$(build/portal token create --name bench-read --scope read --db "$db" 2>/dev/null)
	build/portal serve --listen 127.0.0.1:18962 --db "$db" --threads 2 --log-level warn 2>"$work/snap-$backend.log" &
	p=$!
	wait_up http://127.0.0.1:18962/readyz
	rps[$backend]=$(rate http://127.0.0.1:18962/api/v1/projection "" 64 "Authorization: Bearer $reader")
	kill $p; wait $p 2>/dev/null || true
done
echo "== 2. GET /api/v1/projection (demo data), wrk -t2 -c64 -d${secs}s"
printf '%-44s %10.0f req/s %6s\n' 'portal on SQLite' "${rps[sqlite]}" 1.00
printf '%-44s %10.0f req/s %6s\n' 'portal on PostgreSQL 15' "${rps[pg]}" "$(ratio "${rps[pg]}" "${rps[sqlite]}")"

# --- 3. replica A -> replica B
db=$(fresh_pg replicas)
build/portal migrate --db "$db" >/dev/null
tok=$(build/portal token create --name bench --scope "events:write read" --db "$db" 2>/dev/null)
build/portal serve --listen 127.0.0.1:18963 --db "$db" --threads 2 --log-level warn 2>"$work/a.log" &
build/portal serve --listen 127.0.0.1:18964 --db "$db" --threads 2 --log-level warn 2>"$work/b.log" &
wait_up http://127.0.0.1:18963/readyz
wait_up http://127.0.0.1:18964/readyz
echo "== 3. acknowledgement on one replica -> delivery on a stream, 100 subscribers, 100 events/s, ${secs}s"
echo "-- reference: posted to and streamed from replica B"
"$work/sse_latency" 18964 "$tok" 100 100 "$secs" 18964 | grep -E 'deliveries=|acknowledgement|send ->'
echo "-- posted to replica A, streamed from replica B"
"$work/sse_latency" 18964 "$tok" 100 100 "$secs" 18963 | grep -E 'deliveries=|acknowledgement|send ->'
