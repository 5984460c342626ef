#!/usr/bin/env bash
# Runs every suite and ends with one summary line: "N passed, N failed".
#   unit          Criterion, release build
#   unit-san      Criterion, AddressSanitizer + UBSan build
#   fuzz          each libFuzzer target (build-fuzz/fuzz_*) for FUZZ_SECONDS
#                 (default 5) on its seed corpus, after replaying the inputs
#                 kept in tests/fuzz/regressions/; one count per target
#   integration   the real server (release build), node:test
#   integration-san  the same tests against the sanitizer build
#   browser       Chromium through playwright-core
#   unit-pg       the store suites again, on PostgreSQL: a throwaway cluster
#                 (scripts/pg-temp.sh), a fresh schema per test
#   unit-pg-san   the same, sanitizer build
#   integration-pg      the integration tests on the same cluster
#                       (PORTAL_TEST_PG: a fresh schema per database a test uses)
#   integration-pg-san  the same, sanitizer build
#   memcheck      the integration tests with every portal process under
#                 valgrind memcheck (release build): any invalid access or
#                 leak a process reports fails the suite (make memcheck)
#   memcheck-subset  the same on one file per subsystem (MEMCHECK_SUBSET)
# Without arguments, every suite but integration-pg and memcheck (the
# subset instead): the release build's integration run on PostgreSQL adds
# little to the sanitizer build's there and to the release build's on
# SQLite, and the whole run has a time budget (25 minutes on an idle 2-core
# machine). With suite names as arguments, runs only those (make test-pg:
# the four pg ones; make memcheck: memcheck). Expects the builds to exist
# (make test builds them first).
#
# Nothing here can hang: every suite runs under timeout(1) with a limit of
# its own (suite_limit), each test file has its own limit and each test one
# too (tests/lib/portal.mjs, --test-timeout), and the fuzz targets are
# bounded in tests/fuzz/run.sh. A suite past its limit is stopped, process
# group and all, and counted as failed, saying so.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0 failed=0
log_dir=$(mktemp -d /tmp/portal-tests.XXXXXX)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp

# How long each suite may take, in seconds, before it is stopped: a
# backstop well above a loaded machine's time, since a stuck test file
# ends on its own limit long before (the memcheck suites run two files at
# a time under valgrind, with PORTAL_TEST_SLOW=4).
suite_limit() {
	case $1 in
	unit | unit-pg) echo 600 ;;
	unit-san | unit-pg-san) echo 900 ;;
	fuzz) echo 1800 ;; # tests/fuzz/run.sh bounds each target itself
	integration | integration-pg | browser) echo 1500 ;;
	integration-san | integration-pg-san) echo 2400 ;;
	memcheck-subset) echo 1500 ;;
	memcheck) echo 4800 ;;
	*) echo 1800 ;;
	esac
}

# Runs a suite's command under its limit; on running out, says so in the
# suite's log (and returns 124, or 137 when it had to be killed).
limited() { # suite out command...
	local name=$1 out=$2 limit rc=0
	limit=$(suite_limit "$name")
	shift 2
	timeout --kill-after=30 "$limit" "$@" >"$out" 2>&1 || rc=$?
	if ((rc == 124 || rc == 137)); then
		echo "$name: ran out of its limit of $limit s and was stopped (tests/run.sh suite_limit)" >>"$out"
	fi
	return $rc
}

suite_start=$SECONDS
count() { # suite-name passed failed
	printf '%-16s %4d passed, %d failed  (%ds)\n' "$1" "$2" "$3" $((SECONDS - suite_start))
	suite_start=$SECONDS
	passed=$((passed + $2)) failed=$((failed + $3))
}

# Criterion prints "Synthesis: Tested: N | Passing: P | Failing: F | Crashing: C".
unit() { # name binary [criterion flags...]
	local out="$log_dir/$1.log" rc
	limited "$1" "$out" "$2" --jobs=2 "${@:3}"; rc=$?
	local line; line=$(grep -a 'Synthesis:' "$out" | tail -1)
	if [[ -z $line ]]; then cat "$out"; count "$1" 0 1; return; fi
	local p f c
	p=$(sed -E 's/.*Passing: ([0-9]+).*/\1/' <<<"$line")
	f=$(sed -E 's/.*Failing: ([0-9]+).*/\1/' <<<"$line")
	c=$(sed -E 's/.*Crashing: ([0-9]+).*/\1/' <<<"$line")
	if ((f + c > 0 || rc != 0)); then cat "$out"; fi
	((rc != 0 && f + c == 0)) && f=1
	count "$1" "$p" $((f + c))
}

# node --test prints "# pass N" and "# fail N" at the end (TAP reporter).
# Each test may take TEST_LIMIT seconds (times PORTAL_TEST_SLOW), each file
# PORTAL_TEST_FILE_LIMIT (tests/lib/portal.mjs: 300 s unless the file says
# more, times PORTAL_TEST_SLOW).
TEST_LIMIT=180
node_suite() { # name bin files...
	local name=$1 bin=$2; shift 2
	local out="$log_dir/$name.log" rc
	PORTAL_BIN=$bin limited "$name" "$out" node --test --test-reporter=tap \
		--test-concurrency="${concurrency:-1}" \
		--test-timeout=$((TEST_LIMIT * 1000 * ${PORTAL_TEST_SLOW:-1})) "$@"; rc=$?
	local p f
	p=$(grep -aE '^# pass [0-9]+' "$out" | tail -1 | awk '{print $3}')
	f=$(grep -aE '^# fail [0-9]+' "$out" | tail -1 | awk '{print $3}')
	if [[ -z $p || -z $f ]]; then cat "$out"; count "$name" 0 1; return; fi
	if ((f > 0 || rc != 0)); then cat "$out"; fi
	((rc != 0 && f == 0)) && f=1
	count "$name" "$p" "$f"
}

# One pass or one fail per target (tests/fuzz/run.sh says which failed and
# where its reproducer is).
fuzz_suite() {
	local bins=(build-fuzz/fuzz_*) p=0 f=0
	if [[ ! -x ${bins[0]} ]]; then
		echo "fuzz: no target is built (make test builds them)"
		count fuzz 0 1
		return
	fi
	for bin in "${bins[@]}"; do
		local out="$log_dir/$(basename "$bin").log"
		if bash tests/fuzz/run.sh --seconds "${FUZZ_SECONDS:-5}" "$bin" >"$out" 2>&1; then
			p=$((p + 1))
		else
			cat "$out"
			f=$((f + 1))
		fi
	done
	count fuzz "$p" "$f"
}

# The suites whose tests open "the store under test" (PORTAL_TEST_STORE).
STORE_SUITES='@(store|pstore|proof_store|replicas)/*'
pg_dir='' pg_url=''
pg_start() {
	[[ -n $pg_url ]] && return 0
	pg_dir=$(mktemp -d /tmp/portal-pg.XXXXXX)
	pg_url=$(bash scripts/pg-temp.sh start "$pg_dir" 2>"$log_dir/pg-temp.log") ||
		{ cat "$log_dir/pg-temp.log"; pg_url=''; return 1; }
}
pg_stop() { [[ -n $pg_url ]] && bash scripts/pg-temp.sh stop "$pg_dir"; pg_url=''; }
trap pg_stop EXIT

unit_pg() { # name binary
	if ! pg_start; then count "$1" 0 1; return; fi
	PORTAL_TEST_STORE=$pg_url unit "$1" "$2" --filter="$STORE_SUITES"
}

integration_pg() { # name binary files...
	if ! pg_start; then count "$1" 0 1; return; fi
	PORTAL_TEST_PG=$pg_url node_suite "$@"
}

# Every portal process the integration tests start runs under valgrind, one
# log per process, ending "ERROR SUMMARY: N errors" (leaks count as errors).
# A process killed with SIGKILL leaves no summary: nothing of it to check.
# The exec executor's child between fork and execve is not checked either
# (--child-silent-after-fork): killed or failing there, it would report the
# whole worker's heap, threads and all, as its own.
memcheck() { # name binary files...
	local name=$1 bin=$2; shift 2
	local dir="$log_dir/$name" wrapper
	mkdir -p "$dir/logs"
	wrapper="$dir/portal"
	# The tests may start portal with a bare environment: paths are baked in.
	cat >"$wrapper" <<-EOF
		#!/bin/sh
		exec valgrind --tool=memcheck --leak-check=full --child-silent-after-fork=yes \\
			--show-leak-kinds=definite,indirect,possible \\
			--errors-for-leak-kinds=definite,indirect,possible \\
			--log-file="$dir/logs/%p.log" "$PWD/$bin" "\$@"
	EOF
	chmod +x "$wrapper"
	# valgrind runs one thread at a time: two test files at once use both cores.
	concurrency=2 PORTAL_TEST_SLOW=4 node_suite "$name" "$wrapper" "$@"
	local bad=() f
	for f in "$dir"/logs/*.log; do
		grep -qE '^==[0-9]+== ERROR SUMMARY: [1-9]' "$f" && bad+=("$f")
	done
	echo "$name: $(grep -l 'ERROR SUMMARY' "$dir"/logs/*.log | wc -l) processes checked," \
		"${#bad[@]} with findings"
	if ((${#bad[@]})); then
		for f in "${bad[@]}"; do echo "== $f"; head -80 "$f"; done
		count "$name-findings" 0 "${#bad[@]}"
	fi
}

# The subset make test runs under memcheck: one file per subsystem, the
# events and live streams, sign-in, proposals through the worker, proof,
# the substrate and prober, and hostile clients. make memcheck runs them
# all (but crash.test.mjs, below).
MEMCHECK_SUBSET=${MEMCHECK_SUBSET:-live signin proposals_worker proof substrate hostile}

wanted() {
	if (($# == 0)); then [[ $suite != integration-pg && $suite != memcheck ]]; else [[ " $* " == *" $suite "* ]]; fi
}
for suite in unit unit-san fuzz integration integration-san browser unit-pg unit-pg-san \
	integration-pg integration-pg-san memcheck-subset memcheck; do
	wanted "$@" || continue
	case $suite in
	unit) unit unit build/unit-tests ;;
	unit-san) unit unit-san build-san/unit-tests ;;
	fuzz) fuzz_suite ;;
	integration) node_suite integration build/portal tests/integration/*.test.mjs ;;
	integration-san) node_suite integration-san build-san/portal tests/integration/*.test.mjs ;;
	browser) node_suite browser build/portal tests/e2e/*.test.mjs ;;
	unit-pg) unit_pg unit-pg build/unit-tests ;;
	unit-pg-san) unit_pg unit-pg-san build-san/unit-tests ;;
	integration-pg) integration_pg integration-pg build/portal tests/integration/*.test.mjs ;;
	integration-pg-san) integration_pg integration-pg-san build-san/portal tests/integration/*.test.mjs ;;
	# Not crash.test.mjs: its processes end by SIGKILL, which leaves memcheck
	# nothing to report, and it would take longest of all under valgrind.
	memcheck) memcheck memcheck build/portal $(ls tests/integration/*.test.mjs | grep -v /crash.test.mjs) ;;
	memcheck-subset) memcheck memcheck-subset build/portal $(printf 'tests/integration/%s.test.mjs ' $MEMCHECK_SUBSET) ;;
	esac
done

echo "logs: $log_dir"
echo "$passed passed, $failed failed"
((failed == 0))
