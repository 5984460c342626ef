#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests: trust authentication, a unix
# socket directory inside the cluster's own directory and a loopback TCP
# port, durability switched off (it is thrown away).
#   scripts/pg-temp.sh start [DIR]   initdb into DIR (default: a new temporary
#                                    directory), start it, create database
#                                    "portal"; prints its postgres:// URL, and
#                                    on stderr how to stop it
#   scripts/pg-temp.sh stop DIR      stop it and remove DIR
# As root it runs the server as the `postgres` user (initdb refuses root);
# clients connect over TCP on 127.0.0.1 as the database user "postgres".
# PG_BIN overrides where the server's programs are (Debian's 15 by default);
# PG_DURABLE=1 keeps fsync and synchronous commit on (for benchmarks).
set -euo pipefail

bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
[[ -x $bin/initdb ]] || { echo "pg-temp: no PostgreSQL server in $bin (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
	if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case ${1:-} in
start)
	dir=${2:-$(mktemp -d /tmp/portal-pg-XXXXXX)}
	mkdir -p "$dir"
	[[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
	chmod 700 "$dir"
	as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
		>"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
	mkdir -p "$dir/sock"
	[[ $(id -u) -eq 0 ]] && chown postgres: "$dir/sock"
	# A port can be taken between asking and binding: try a few.
	fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	[[ ${PG_DURABLE:-} == 1 ]] && fast=""
	for _ in 1 2 3 4 5; do
		port=$(free_port)
		if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start -o \
			"-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir/sock \
			 $fast -c max_connections=300 -c shared_buffers=64MB" >/dev/null; then
			as_owner "$bin/createdb" -h "$dir/sock" -p "$port" -U postgres portal
			echo "postgres://postgres@127.0.0.1:$port/portal"
			echo "pg-temp: stop with: $0 stop $dir" >&2
			exit 0
		fi
	done
	cat "$dir/server.log" >&2
	exit 1
	;;
stop)
	dir=${2:?usage: $0 stop DIR}
	[[ -d $dir/data ]] || { echo "pg-temp: $dir holds no cluster" >&2; exit 1; }
	as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$dir"
	;;
*)
	echo "usage: $0 start [DIR] | stop DIR" >&2
	exit 2
	;;
esac
