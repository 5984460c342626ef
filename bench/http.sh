#!/usr/bin/env bash
# HTTP throughput of `portal serve` beside nginx, the reference, in one run on
# loopback: the same wrk load against Portal's /healthz (JSON, every security
# header, a request id, metrics and a JSON log line per request) and its home
# page, and against nginx returning a small static body. Prints requests/s and
# the Portal/nginx ratio; ratios travel between machines, absolute numbers do not.
# Usage: bench/http.sh [seconds] [connections]     (installs wrk and nginx-light if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx-light)
if ((${#need[@]})); then
	sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get install -y -q "${need[@]}" >/dev/null
fi
make -s build/portal

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

port_portal=18931
port_nginx=18932
build/portal serve --listen 127.0.0.1:$port_portal --db "$work/bench.db" --threads 2 \
	2>"$work/portal.log" &
cat >"$work/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
	access_log off;
	server {
		listen 127.0.0.1:$port_nginx;
		location / { default_type application/json; return 200 '{"status":"alive"}\n'; }
	}
}
CONF
nginx -c "$work/nginx.conf" -g 'daemon off;' &
for _ in $(seq 50); do
	curl -sf "http://127.0.0.1:$port_portal/healthz" >/dev/null &&
		curl -sf "http://127.0.0.1:$port_nginx/" >/dev/null && break
	sleep 0.1
done

rate() { wrk -t2 -c"$conns" -d"${secs}s" "$1" | awk '/Requests\/sec/ {print $2}'; }
nginx_rps=$(rate "http://127.0.0.1:$port_nginx/")
healthz_rps=$(rate "http://127.0.0.1:$port_portal/healthz")
home_rps=$(rate "http://127.0.0.1:$port_portal/")
errors=$(grep -c '"level":"error"' "$work/portal.log" || true)

printf '%-34s %12s %8s\n' target 'req/s' 'ratio'
printf '%-34s %12.0f %8s\n' 'nginx static (reference)' "$nginx_rps" 1.00
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf '%-34s %12.0f %8s\n' 'portal GET /healthz' "$healthz_rps" "$(ratio "$healthz_rps" "$nginx_rps")"
printf '%-34s %12.0f %8s\n' 'portal GET / (home page)' "$home_rps" "$(ratio "$home_rps" "$nginx_rps")"
echo "portal error log lines during the run: $errors"
