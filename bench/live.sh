#!/usr/bin/env bash
# The live-truth figures, each beside a reference in the same run on this
# machine (ratios travel, absolute numbers do not):
#   1. GET /api/v1/projection throughput vs nginx serving the same bytes as a
#      static file (wrk, 2 threads; portal --threads 2, nginx 2 workers)
#   2. durable ingest, events/s in batches of 100 (wrk + bench/ingest.lua) vs
#      the sqlite3 shell inserting the same rows, one transaction per batch,
#      WAL and synchronous=FULL like Portal
#   3. SSE delivery latency, acknowledgement -> receipt, 1,000 subscribers at
#      200 events/s (bench/sse_latency.c)
#   4. `portal replay` of 1,000,000 events, and resident memory of `portal
#      serve` holding 100,000 sessions
# Usage: bench/live.sh [seconds]    (installs wrk, nginx-light, sqlite3 if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx-light)
command -v sqlite3 >/dev/null || need+=(sqlite3)
if ((${#need[@]})); then
	sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get install -y -q "${need[@]}" >/dev/null
fi
make -s build/portal
work=$(mktemp -d)
chmod 755 "$work" # nginx workers (www-data) read the reference file from here
cc -O2 -o "$work/sse_latency" bench/sse_latency.c $(pkg-config --cflags --libs libevent libevent_pthreads) -lpthread
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
ulimit -n 8192
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rate() { wrk -t2 -c"${3:-64}" -d"${secs}s" ${2:+-s "$2"} ${4:+-H "$4"} "$1" | awk '/Requests\/sec/ {print $2}'; }
wait_up() { for _ in $(seq 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "not up: $1" >&2; return 1; }

# --- 1. snapshot throughput
db="$work/demo.db"
build/portal demo --db "$db" >/dev/null
reader=$(build/portal token create --name bench-read --scope read --db "$db" 2>/dev/null)
build/portal serve --listen 127.0.0.1:18941 --db "$db" --threads 2 --log-level warn 2>"$work/p1.log" &
p1=$!
wait_up http://127.0.0.1:18941/readyz
mkdir -p "$work/www"
curl -sf -H "Authorization: Bearer $reader" http://127.0.0.1:18941/api/v1/projection -o "$work/www/projection.json"
cat >"$work/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
	access_log off;
	server {
		listen 127.0.0.1:18942;
		root $work/www;
		location / { default_type application/json; etag on; }
	}
}
CONF
nginx -c "$work/nginx.conf" -g 'daemon off;' &
wait_up http://127.0.0.1:18942/projection.json
bytes=$(stat -c %s "$work/www/projection.json")
nginx_rps=$(rate http://127.0.0.1:18942/projection.json)
# Signed-in reads: the bearer token is checked on every request.
snap_rps=$(rate http://127.0.0.1:18941/api/v1/projection "" 64 "Authorization: Bearer $reader")
kill $p1; wait $p1 2>/dev/null || true
echo "== 1. snapshot GET ($bytes bytes), wrk -t2 -c64 -d${secs}s"
printf '%-40s %12.0f req/s %6s\n' 'nginx, same bytes as a static file' "$nginx_rps" 1.00
printf '%-40s %12.0f req/s %6s\n' 'portal GET /api/v1/projection' "$snap_rps" "$(ratio "$snap_rps" "$nginx_rps")"

# --- 2. durable ingest
db="$work/ingest.db"
build/portal migrate --db "$db" >/dev/null
export PORTAL_TOKEN
PORTAL_TOKEN=$(build/portal token create --name bench --scope "events:write read" --db "$db" 2>/dev/null)
build/portal serve --listen 127.0.0.1:18943 --db "$db" --threads 2 --log-level warn 2>"$work/p2.log" &
p2=$!
wait_up http://127.0.0.1:18943/readyz
ingest_rps=$(rate http://127.0.0.1:18943/api/v1/events bench/ingest.lua 16)
stored=$(curl -sf -H "Authorization: Bearer $PORTAL_TOKEN" http://127.0.0.1:18943/api/v1/projection | sed -n 's/^{"version":\([0-9]*\).*/\1/p')
kill $p2; wait $p2 2>/dev/null || true
portal_eps=$(awk -v r="$ingest_rps" 'BEGIN { printf "%.0f", r * 100 }')
# The reference: the same rows through the sqlite3 shell, one transaction per batch.
batches=$(( stored / 100 > 500 ? stored / 100 : 500 ))
build/portal migrate --db "$work/ref.db" >/dev/null
awk -v n="$batches" 'BEGIN {
	print "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	for (b = 1; b <= n; b++) {
		print "BEGIN;"
		for (i = 1; i <= 100; i++)
			printf "INSERT INTO portal_live_events (id, ts, source, type, project, session, data, received_at) VALUES (%cr%d-%d%c, %d, %cbench%c, %csession.tool%c, %cp%d%c, %cs%d%c, %c{\"tool\":\"bash\",\"family\":\"shell\"}%c, %d);\n", 39, b, i, 39, 1700000000000 + b, 39, 39, 39, 39, 39, i % 10, 39, 39, (b * 100 + i) % 5000, 39, 39, 39, 1700000000000 + b
		print "COMMIT;"
	}
}' >"$work/ref.sql"
t0=$(date +%s.%N)
sqlite3 "$work/ref.db" <"$work/ref.sql" >/dev/null
t1=$(date +%s.%N)
ref_eps=$(awk -v n="$batches" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n * 100 / (b - a) }')
echo "== 2. durable ingest, batches of 100 (portal: wrk -t2 -c16 -d${secs}s; $stored events stored)"
printf '%-40s %12s ev/s %6s\n' 'sqlite3 shell, 1 transaction per batch' "$ref_eps" 1.00
printf '%-40s %12s ev/s %6s\n' 'portal POST /api/v1/events' "$portal_eps" "$(ratio "$portal_eps" "$ref_eps")"

# --- 3. SSE delivery latency
db="$work/sse.db"
build/portal migrate --db "$db" >/dev/null
token=$(build/portal token create --name sse --scope "events:write read" --db "$db" 2>/dev/null)
build/portal serve --listen 127.0.0.1:18944 --db "$db" --threads 2 --log-level warn 2>"$work/p3.log" &
p3=$!
wait_up http://127.0.0.1:18944/readyz
echo "== 3. SSE delivery, 1000 subscribers, 200 events/s for ${secs}s"
"$work/sse_latency" 18944 "$token" 1000 200 "$secs" || echo "(some deliveries missing)"
kill $p3; wait $p3 2>/dev/null || true

# --- 4. replay and memory
db="$work/big.db"
build/portal migrate --db "$db" >/dev/null
# 100,000 sessions, ten events each: started, eight tool uses, ended or not.
sqlite3 "$db" >/dev/null <<'SQL'
PRAGMA journal_mode=WAL;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999999)
INSERT INTO portal_live_events (id, ts, source, type, project, session, data, received_at)
SELECT 'big-' || i, 1700000000000 + i, 'bench',
	CASE i % 10 WHEN 0 THEN 'session.started' WHEN 9 THEN 'session.ended' ELSE 'session.tool' END,
	'p' || ((i / 10) % 20), 's' || (i / 10),
	CASE i % 10
		WHEN 0 THEN '{"harness":"codex","inputs":{"repository":"git@example.org:p.git","commit":"4f2a9c1"},"launch":{"component":"daytona","status":"ok"}}'
		WHEN 9 THEN '{"outcome":"success"}'
		ELSE '{"tool":"bash","family":"shell"}' END,
	1700000000000 + i
FROM n;
SQL
echo "== 4. replay and memory (1,000,000 events, 100,000 sessions)"
build/portal replay --db "$db"
reader=$(build/portal token create --name bench-read --scope read --db "$db" 2>/dev/null)
build/portal serve --listen 127.0.0.1:18945 --db "$db" --threads 2 --log-level warn 2>"$work/p4.log" &
p4=$!
wait_up http://127.0.0.1:18945/readyz
curl -sf -H "Authorization: Bearer $reader" http://127.0.0.1:18945/api/v1/projection -o /dev/null
curl -sf -H "Authorization: Bearer $reader" http://127.0.0.1:18945/operator -o /dev/null
grep -E 'VmRSS|VmHWM' /proc/$p4/status
kill $p4; wait $p4 2>/dev/null || true
