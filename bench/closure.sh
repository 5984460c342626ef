#!/usr/bin/env bash
# Proof closure from the embedded planes: N proposals (default 10,000)
# recorded as the worker records them, then every closure read back from the
# three planes and decided (bench/closure_bench.c). The reference, in the
# same run on the same database file: the sqlite3 shell running the same
# three reads per proposal (triples about its node, its facts, its
# evidence), printing nothing. With --clickhouse, also one closure whose
# warehouse is a local clickhouse-server started for the run.
# Usage: bench/closure.sh [N] [--clickhouse]   (installs sqlite3, clickhouse-server if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
with_ch=${2:-}
need=()
command -v sqlite3 >/dev/null || need+=(sqlite3)
[[ $with_ch == --clickhouse ]] && ! command -v clickhouse-server >/dev/null && need+=(clickhouse-server)
if ((${#need[@]})); then
	sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get install -y -q "${need[@]}" >/dev/null
fi
make -s build/libportal.a
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
PKGS="libevent libevent_pthreads sqlite3 libcurl jansson yaml-0.1 libsodium"
cc -std=c11 -D_GNU_SOURCE -Isrc -O2 -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes $(pkg-config --cflags $PKGS) \
	-o "$work/closure_bench" bench/closure_bench.c build/libportal.a \
	$(pkg-config --libs $PKGS) -lpthread -lm

ch_url=
if [[ $with_ch == --clickhouse ]]; then
	port=18123
	mkdir -p "$work/ch/data" "$work/ch/tmp" "$work/ch/log"
	cat >"$work/ch/config.xml" <<XML
<yandex>
  <logger><level>warning</level><log>$work/ch/log/server.log</log><errorlog>$work/ch/log/error.log</errorlog></logger>
  <http_port>$port</http_port>
  <listen_host>127.0.0.1</listen_host>
  <path>$work/ch/data/</path>
  <tmp_path>$work/ch/tmp/</tmp_path>
  <users_config>$work/ch/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>5368709</mark_cache_size>
</yandex>
XML
	cat >"$work/ch/users.xml" <<XML
<yandex>
  <profiles><default/></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default/></quotas>
</yandex>
XML
	PATH=$PATH:/usr/sbin clickhouse-server --config-file="$work/ch/config.xml" >"$work/ch/stdout.log" 2>&1 &
	for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/ping" >/dev/null && break; sleep 0.1; done
	ch_url="http://127.0.0.1:$port"
fi

db="$work/closure.db"
"$work/closure_bench" "$db" "$n" $ch_url | tee "$work/out.txt"
portal_ms=$(awk '/^embedded:/ { print $5 }' "$work/out.txt")

awk -v n="$n" 'BEGIN {
	print ".output /dev/null"
	for (i = 0; i < n; i++) {
		id = sprintf("p-%016x", i)
		printf "SELECT predicate, object FROM portal_graph_triples WHERE graph = %catlas%c AND subject = %curn:fractalops:proposal:%s%c ORDER BY predicate, object;\n", 39, 39, 39, id, 39
		printf "SELECT seq, project, kind, event, at, actor, artifact, digest FROM portal_warehouse_facts WHERE proposal = %c%s%c ORDER BY at, seq;\n", 39, id, 39
		printf "SELECT rowid, id, digest, size, location, producer FROM portal_evidence WHERE proposal = %c%s%c ORDER BY rowid;\n", 39, id, 39
	}
}' >"$work/ref.sql"
t0=$(date +%s%N)
sqlite3 "$db" <"$work/ref.sql"
t1=$(date +%s%N)
ref_ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
echo "== $n closures from the embedded planes"
printf '%-58s %10s ms %6s\n' 'sqlite3 shell, the same three reads per proposal' "$ref_ms" 1.00
printf '%-58s %10s ms %6s\n' 'portal: read the three planes and decide the closure' "$portal_ms" \
	"$(awk -v a="$portal_ms" -v b="$ref_ms" 'BEGIN { printf "%.2f", a / b }')"
if [[ -n $ch_url ]]; then
	ch_ms=$(awk '/^clickhouse warehouse:/ { print $6 }' "$work/out.txt")
	curl -s -o /dev/null "$ch_url/?wait_end_of_query=1" --data-binary 'SELECT 1' # warm
	rt=$(curl -s -o /dev/null -w '%{time_total}' "$ch_url/?wait_end_of_query=1" --data-binary 'SELECT 1 FORMAT JSONEachRow')
	rt_ms=$(awk -v t="$rt" 'BEGIN { printf "%.2f", t * 1000 }')
	echo "== one closure with the warehouse on the local clickhouse-server ($(dpkg-query -W -f '${Version}' clickhouse-server 2>/dev/null || echo unknown))"
	printf '%-58s %10s ms\n' 'curl: one SELECT round trip to the same server' "$rt_ms"
	printf '%-58s %10s ms\n' 'portal: graph + evidence embedded, facts from ClickHouse' "$ch_ms"
fi
