#!/usr/bin/env bash
# Runs libFuzzer targets (build-fuzz/fuzz_*) for a bounded time each, one at
# a time, on a scratch copy of their seed corpus (tests/fuzz/corpus/<name>),
# after replaying every input kept in tests/fuzz/regressions/<name>/. Fails
# when a target crashes, leaks or times out, printing the reproducer's path.
# Each run of a target is bounded from outside as well (timeout(1): its
# seconds plus two minutes, the replay two minutes), so a target that stops
# making progress is reported, never waited out.
#   bash tests/fuzz/run.sh [--seconds N] [--merge] build-fuzz/fuzz_x ...
# --merge folds new inputs that add coverage into tests/fuzz/corpus/<name>;
# otherwise nothing is written inside the repository.
set -uo pipefail
cd "$(dirname "$0")/../.."

seconds=60 merge=0
while (($#)); do
	case $1 in
	--seconds) seconds=$2; shift 2 ;;
	--merge) merge=1; shift ;;
	*) break ;;
	esac
done
(($#)) || { echo "usage: $0 [--seconds N] [--merge] TARGET..." >&2; exit 2; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# The longest input worth trying, per parser: a little over its realistic
# size (the shipped example config is 20 KiB).
max_len() {
	case $1 in
	fuzz_config) echo 32768 ;;
	fuzz_router | fuzz_headers) echo 4096 ;;
	fuzz_proposal_input) echo 8192 ;;
	*) echo 16384 ;;
	esac
}

# A target past its bound gets SIGTERM, then SIGKILL 10 s later; 124 or 137
# from timeout(1) says so.
bounded() { # seconds log command...
	local s=$1 log=$2 rc=0
	shift 2
	timeout --kill-after=10 "$s" "$@" >"$log" 2>&1 || rc=$?
	if ((rc == 124 || rc == 137)); then
		echo "$(basename "$1"): still running after its bound of ${s} s: stopped (log: $log)" >>"$log"
	fi
	return $rc
}

failed=0
for bin in "$@"; do
	name=$(basename "$bin")
	if [[ ! -x $bin ]]; then
		echo "$name: $bin is not built (make $bin)"
		failed=1
		continue
	fi
	scratch=$(mktemp -d "/tmp/portal-$name.XXXXXX")
	mkdir -p "$scratch/corpus" "$scratch/artifacts"
	cp -r "tests/fuzz/corpus/$name/." "$scratch/corpus/" 2>/dev/null
	flags=(-max_len="$(max_len "$name")" -timeout=20 -rss_limit_mb=2048
		-artifact_prefix="$scratch/artifacts/")
	[[ -f tests/fuzz/$name.dict ]] && flags+=(-dict="tests/fuzz/$name.dict")

	rc=0
	regressions=(tests/fuzz/regressions/"$name"/*)
	if [[ -e ${regressions[0]} ]]; then
		bounded 120 "$scratch/replay.log" "$bin" "${flags[@]}" "${regressions[@]}" || rc=$?
		if ((rc != 0)); then
			tail -n 40 "$scratch/replay.log"
			echo "$name: a kept regression input fails again (log: $scratch/replay.log)"
			failed=1
			continue
		fi
	fi
	bounded $((seconds + 120)) "$scratch/fuzz.log" "$bin" "${flags[@]}" -max_total_time="$seconds" \
		-print_final_stats=1 "$scratch/corpus" || rc=$?
	if ((rc != 0)); then
		tail -n 60 "$scratch/fuzz.log"
		for a in "$scratch"/artifacts/*; do
			[[ -e $a ]] && echo "$name: reproducer $a (run: $bin $a)"
		done
		echo "$name: FAILED (exit $rc; log: $scratch/fuzz.log)"
		failed=1
		continue
	fi
	runs=$(grep -a 'stat::number_of_executed_units' "$scratch/fuzz.log" | awk '{print $2}')
	cov=$(grep -a -oE 'cov: [0-9]+' "$scratch/fuzz.log" | tail -1)
	echo "$name: ok, ${runs:-?} runs in ${seconds}s, ${cov:-cov: ?}"
	if ((merge)); then
		bounded $((seconds + 120)) "$scratch/merge.log" "$bin" "${flags[@]}" -merge=1 \
			"tests/fuzz/corpus/$name" "$scratch/corpus" || { tail -n 20 "$scratch/merge.log"; failed=1; }
	fi
	rm -rf "$scratch"
done
exit $failed
