#!/usr/bin/env bash
# Proposals: submission throughput and queue latency, each beside a
# reference in the same run on this machine.
#   1. POST /api/v1/proposals as a signed-in person (wrk -t2 -c16 + bench/
#      propose.lua): each 202 is one durable transaction holding the
#      proposal, its first audit row (hash-chained) and its live event. The
#      reference: the sqlite3 shell inserting the same three rows per
#      transaction (WAL, synchronous=FULL, as Portal).
#   2. Queue latency from approval to execution start, p50/p99, with four
#      `portal worker` processes on /bin/true: approvals are made through the
#      API at a steady pace; the latency of each is read from the audit log
#      (queued.at → running.at). The reference: the workers' poll interval.
# Usage: bench/proposals.sh [seconds] [approvals]   (installs wrk, sqlite3 if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
approvals=${2:-400}
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v sqlite3 >/dev/null || need+=(sqlite3)
if ((${#need[@]})); then
	sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get install -y -q "${need[@]}" >/dev/null
fi
make -s build/portal
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
cat >"$work/portal.yaml" <<'YAML'
proposals:
  - name: noop
    propose: operator
    approve: approver
    fields: [{name: n, type: integer, min: 0, max: 1000000000000, required: true}]
    execute: {executor: exec, argv: ["/bin/true"], timeout_ms: 10000}
YAML
db="$work/bench.db"
build/portal migrate --db "$db" >/dev/null
echo 'bench-password-123' | build/portal user add --name olga --role operator --password-stdin --db "$db" >/dev/null 2>&1
echo 'bench-password-123' | build/portal user add --name abe --role approver --password-stdin --db "$db" >/dev/null 2>&1
build/portal serve --listen 127.0.0.1:18951 --db "$db" --config "$work/portal.yaml" --threads 2 \
	--log-level warn 2>"$work/serve.log" &
for _ in $(seq 100); do curl -sf http://127.0.0.1:18951/readyz >/dev/null && break; sleep 0.1; done
# sign in as NAME: prints "cookie csrf"
signin() {
	local jar="$work/$1.jar" pre csrf
	pre=$(curl -s -c "$jar" http://127.0.0.1:18951/login | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p')
	curl -s -b "$jar" -c "$jar" -o /dev/null --data-urlencode "csrf=$pre" --data-urlencode "user=$1" \
		--data-urlencode "password=bench-password-123" --data-urlencode "next=/" http://127.0.0.1:18951/login
	csrf=$(curl -s -b "$jar" http://127.0.0.1:18951/ | sed -n 's/.*name="csrf-token" content="\([^"]*\)".*/\1/p')
	echo "portal_login=$(awk '$6 == "portal_login" {print $7}' "$jar") $csrf"
}
read -r olga_cookie olga_csrf < <(signin olga)
read -r abe_cookie abe_csrf < <(signin abe)

# --- 1. submission throughput
export PORTAL_COOKIE=$olga_cookie PORTAL_CSRF=$olga_csrf
rps=$(wrk -t2 -c16 -d"${secs}s" -s bench/propose.lua http://127.0.0.1:18951 | awk '/Requests\/sec/ {print $2}')
stored=$(sqlite3 "$db" 'SELECT count(*) FROM portal_proposals')
n=$(( stored > 2000 ? stored : 2000 ))
build/portal migrate --db "$work/ref.db" >/dev/null
awk -v n="$n" 'BEGIN {
	print "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	for (i = 1; i <= n; i++) {
		print "BEGIN;"
		printf "INSERT INTO portal_proposals (id, kind, project, proposer, input, state, attempts, created_at, updated_at, next_attempt_at) VALUES (%cp-%016x%c, %cnoop%c, %cbench%c, %colga%c, %c{\"n\":%d}%c, %csubmitted%c, 0, %d, %d, 0);\n", 39, i, 39, 39, 39, 39, 39, 39, 39, 39, i, 39, 39, 39, 1700000000000 + i, 1700000000000 + i
		printf "INSERT INTO portal_audit (proposal, from_state, to_state, actor, at, reason, prev, hash) VALUES (%cp-%016x%c, %c%c, %csubmitted%c, %colga%c, %d, %c%c, randomblob(32), randomblob(32));\n", 39, i, 39, 39, 39, 39, 39, 39, 39, 1700000000000 + i, 39, 39
		printf "INSERT INTO portal_live_events (id, ts, source, type, project, session, data, received_at) VALUES (%cproposal:p-%016x:%d%c, %d, %cportal%c, %cproposal.transitioned%c, %cbench%c, NULL, %c{\"proposal\":\"p-%016x\",\"to\":\"submitted\"}%c, %d);\n", 39, i, i, 39, 1700000000000 + i, 39, 39, 39, 39, 39, 39, 39, i, 39, 1700000000000 + i
		print "COMMIT;"
	}
}' >"$work/ref.sql"
t0=$(date +%s.%N)
sqlite3 "$work/ref.db" <"$work/ref.sql" >/dev/null
t1=$(date +%s.%N)
ref=$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
echo "== 1. submissions, wrk -t2 -c16 -d${secs}s ($stored proposals stored)"
printf '%-46s %10s /s %6s\n' 'sqlite3 shell, the same 3 rows per transaction' "$ref" 1.00
printf '%-46s %10.0f /s %6s\n' 'portal POST /api/v1/proposals (202)' "$rps" "$(awk -v a="$rps" -v b="$ref" 'BEGIN { printf "%.2f", a / b }')"

# --- 2. queue latency, approval → execution start, 4 workers
for i in 1 2 3 4; do
	build/portal worker --db "$db" --config "$work/portal.yaml" --id "w$i" --concurrency 1 \
		--log-level warn 2>"$work/worker$i.log" &
done
sleep 1
ids=$(sqlite3 "$db" "SELECT id FROM portal_proposals WHERE state = 'submitted' ORDER BY created_at LIMIT $approvals")
t0=$(date +%s.%N)
for id in $ids; do
	curl -s -o /dev/null -X POST -H "Cookie: $abe_cookie" -H "X-CSRF-Token: $abe_csrf" \
		-H 'Content-Type: application/json' -d '{}' "http://127.0.0.1:18951/api/v1/proposals/$id/approve"
	sleep 0.02
done
t1=$(date +%s.%N)
for _ in $(seq 300); do
	left=$(sqlite3 "$db" "SELECT count(*) FROM portal_proposals WHERE state IN ('approved','queued','running')")
	[ "$left" = 0 ] && break
	sleep 0.1
done
sqlite3 "$db" "SELECT r.at - q.at FROM portal_audit q JOIN portal_audit r ON r.proposal = q.proposal
	AND r.to_state = 'running' AND q.to_state = 'queued' AND r.seq > q.seq
	WHERE q.actor = 'portal'" | sort -n >"$work/lat.txt"
count=$(wc -l <"$work/lat.txt")
pct() { awk -v p="$1" -v n="$count" 'NR == int((n - 1) * p / 100) + 1 { print; exit }' "$work/lat.txt"; }
echo "== 2. approval → execution start, 4 workers (poll interval 200 ms), $count approvals at $(awk -v n="$count" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')/s"
echo "p50 $(pct 50) ms   p99 $(pct 99) ms   max $(tail -1 "$work/lat.txt") ms   (reference: one poll interval, 200 ms)"
executed=$(sqlite3 "$db" "SELECT count(*) FROM portal_proposals WHERE state = 'executed'")
echo "executed: $executed"
