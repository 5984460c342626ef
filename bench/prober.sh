#!/usr/bin/env bash
# CPU cost of the health prober: 500 components (one local nginx answering
# 200 {"ok":true} on every path) probed every second for 30 s, with the body
# check on. Prints the prober thread's CPU time as a share of one core (read
# from its own thread CPU clock) and, for reference, what nginx used to answer
# the same probes. Ratios travel between machines; absolute numbers less so.
# Usage: bench/prober.sh [seconds] [components] [interval_ms]   (installs nginx-light if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
comps=${2:-500}
interval=${3:-1000}
if ! command -v nginx >/dev/null; then
	sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get install -y -q nginx-light >/dev/null
fi
# The prober needs only its own objects; while the rest of the tree does not
# build (work in progress), link those instead of the whole library.
objs=(build/obj/src/adapters/prober.o build/obj/src/util/clock.o build/obj/src/util/perr.o)
if make -s build/libportal.a 2>"${TMPDIR:-/tmp}/prober-bench-make.log"; then
	lib=(build/libportal.a)
else
	echo "bench/prober.sh: build/libportal.a does not build; linking the prober's objects alone" >&2
	make -s "${objs[@]}"
	lib=("${objs[@]}")
fi

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

PKGS="libevent libevent_pthreads sqlite3 libcurl jansson yaml-0.1 libsodium"
cc -std=c11 -D_GNU_SOURCE -Isrc -O2 -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wstrict-prototypes -Wmissing-prototypes $(pkg-config --cflags $PKGS) \
	-o "$work/prober_bench" bench/prober_bench.c "${lib[@]}" \
	$(pkg-config --libs $PKGS) -lpthread -lm

port=18941
cat >"$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
	access_log off;
	server {
		listen 127.0.0.1:$port;
		location / { default_type application/json; return 200 '{"ok":true}'; }
	}
}
CONF
nginx -c "$work/nginx.conf" -g 'daemon off;' &
for _ in $(seq 50); do
	curl -sf "http://127.0.0.1:$port/" >/dev/null && break
	sleep 0.1
done

# CPU ticks (user + system) of nginx's master and workers.
nginx_ticks() {
	local total=0 pid
	for pid in $(cat "$work/nginx.pid") $(pgrep -P "$(cat "$work/nginx.pid")"); do
		total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
	done
	echo "$total"
}
hz=$(getconf CLK_TCK)
n0=$(nginx_ticks)
out=$("$work/prober_bench" "$port" "$comps" "$interval" "$secs")
n1=$(nginx_ticks)

get() { tr ' ' '\n' <<<"$out" | awk -F= -v k="$1" '$1 == k {print $2}'; }
wall=$(get seconds)
nginx_pct=$(awk -v t=$((n1 - n0)) -v hz="$hz" -v w="$wall" 'BEGIN {printf "%.2f", 100 * t / hz / w}')
echo "$out"
printf 'prober: %s components, %s ms interval, %s s: cpu %s%% of one core (%s us per probe), probes %s; reference: nginx answering them used %s%%\n' \
	"$comps" "$interval" "$secs" "$(get cpu_pct)" "$(get us_per_probe)" "$(get probes)" "$nginx_pct"
