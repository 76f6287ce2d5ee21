#!/usr/bin/env bash
# Runs every native Go fuzz target of tunstack (go test -fuzz) for a while
# each, one after the other, and says how long each ran and how many
# inputs it tried. scripts/test.sh runs it with 10s each; run it longer by
# hand after a change to the input path:
#
#   scripts/fuzz.sh                      # every target, 10s each
#   scripts/fuzz.sh 10m                  # every target, 10 minutes each
#   scripts/fuzz.sh 10m 'FuzzStack.*'    # the targets whose names match
#
# A target that fails writes the failing input under its package's
# testdata/fuzz/NAME/ (commit it: it becomes a regression test that every
# go test runs) and this script exits non-zero with the fuzzer's output.
# FUZZ_PARALLEL sets the workers per target (default 1: the machine is
# shared).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

fuzztime=${1:-10s}
filter=${2:-.}
parallel=${FUZZ_PARALLEL:-1}
if ! command -v go >/dev/null 2>&1; then
	export PATH="$PATH:/usr/local/go/bin"
fi

# Packages with fuzz targets, and the targets' names, from the sources:
# listing them with go test -list would build every test binary.
mapfile -t dirs < <(grep -l --include='*_test.go' -r '^func Fuzz' . | xargs -n1 dirname | sort -u)
# deadline_race reports whether a failed run's log is only Go's fuzz
# deadline race: the bare error, no failing input, no panic.
deadline_race() {
	grep -q 'context deadline exceeded' "$1" && ! grep -q 'Failing input written\|panic:\|fuzz_test.go:[0-9]*:' "$1"
}

ran=0
for dir in "${dirs[@]}"; do
	mapfile -t targets < <(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //' | sort -u)
	for target in "${targets[@]}"; do
		[[ $target =~ $filter ]] || continue
		log=$(mktemp)
		t0=$SECONDS
		ok=false
		for attempt in 1 2; do
			if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime 10s \
				-parallel "$parallel" "$dir" >"$log" 2>&1; then
				ok=true
				break
			fi
			# Go 1.26's fuzz coordinator can report a bare "context deadline
			# exceeded" when -fuzztime ends while a worker is busy
			# (golang/go#75804, fixed in Go 1.27): no input failed and none
			# was written. Run the target once more then; anything else is
			# a finding.
			if ! deadline_race "$log"; then
				break
			fi
			echo "  note  $target: Go's fuzz deadline race (golang/go#75804), no input failed: running it again"
		done
		if $ok; then
			# No "execs:" line when gathering the corpus's baseline coverage
			# took the whole -fuzztime (a loaded machine): that is no failure.
			execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
			printf '  ok    %-24s %-16s %4ds %10s inputs\n' "$target" "$dir" $((SECONDS - t0)) "${execs:-?}"
			rm -f "$log"
		else
			cat "$log"
			rm -f "$log"
			echo "FAIL  $target ($dir): the failing input is under $dir/testdata/fuzz/$target/" >&2
			exit 1
		fi
		ran=$((ran + 1))
	done
done
if [[ $ran -eq 0 ]]; then
	echo "scripts/fuzz.sh: no fuzz target matches $filter" >&2
	exit 1
fi
