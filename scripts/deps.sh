#!/usr/bin/env bash
# Installs what Portal needs on Debian 12, and only what is missing.
#   scripts/deps.sh build   libraries and tools to build and run Portal
#   scripts/deps.sh test    the above, plus the test tools (Criterion, Chromium,
#                           clickhouse-server for the warehouse tests, clang
#                           and its libFuzzer runtime, valgrind,
#                           Node's packages from package-lock.json)
# Runs apt-get through sudo when not root. Safe to run again: when nothing is
# missing it does nothing and says so in one line.
set -euo pipefail

mode=${1:-build}
case $mode in build|test) ;; *) echo "usage: $0 build|test" >&2; exit 2 ;; esac

build_pkgs=(gcc make pkg-config git libevent-dev libsqlite3-dev libcurl4-openssl-dev
	libjansson-dev libyaml-dev libsodium-dev libpq-dev)
test_pkgs=(libcriterion-dev chromium sqlite3 curl clickhouse-server postgresql
	clang libclang-rt-14-dev valgrind)

want=("${build_pkgs[@]}")
[[ $mode == test ]] && want+=("${test_pkgs[@]}")
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || \
	{ [[ $mode == test ]] && want+=(nodejs npm); }

missing=()
for p in "${want[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ $status == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]})); then
	sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
		sudo=(sudo)
	fi
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# Refresh the package lists only when apt cannot find a candidate.
	if ! "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; then
		"${sudo[@]}" apt-get update -qq
		"${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
	fi
fi

if [[ $mode == test ]]; then
	cd "$(dirname "$0")/.."
	# npm ci when node_modules is missing or older than the lock file.
	if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
		echo "deps: npm ci"
		npm ci --no-audit --no-fund --loglevel=error
	fi
fi
echo "deps: ${mode} dependencies present"
