#!/usr/bin/env bash
# Runs every test of tunstack: gofmt, go vet, the race detector on the
# packages that share state between goroutines, then all tests including the
# integration tests in ./tests, which create a TUN device inside private
# network namespaces and drive it with the real curl, nc and ping.
#
# Needs root (the integration tests create namespaces and TUN devices).
# Installs the client tools it uses from Debian when they are missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ $(id -u) -ne 0 ]]; then
	echo "scripts/test.sh: run it as root (sudo scripts/test.sh): the integration tests create TUN devices in private network namespaces" >&2
	exit 1
fi

# On success the whole output fits a screen: steps say one line each
# and keep the full output of go test and the cross-check's list of
# differences in files under $TUNSTACK_TEST_OUT, which the summary names.
# The script runs itself under a counter of the lines it prints.
max_lines=60
if [[ -z ${TUNSTACK_TEST_OUT:-} ]]; then
	TUNSTACK_TEST_OUT=$(mktemp -d /tmp/tunstack-test.XXXXXX)
	export TUNSTACK_TEST_OUT
	set +e
	bash "${BASH_SOURCE[0]}" "$@" 2>&1 | tee "$TUNSTACK_TEST_OUT/output.txt"
	rc=${PIPESTATUS[0]}
	set -e
	lines=$(($(wc -l <"$TUNSTACK_TEST_OUT/output.txt") + 1))
	if [[ $rc -eq 0 && $lines -gt $max_lines ]]; then
		echo "scripts/test.sh: FAIL: $lines lines of output, more than $max_lines on success: keep the steps quiet"
		exit 1
	fi
	echo "  $lines lines of output (at most $max_lines on success)"
	exit "$rc"
fi
mkdir -p "$TUNSTACK_TEST_OUT"

# command -> Debian package that provides it.
declare -A needed=(
	[curl]=curl
	[nc]=netcat-openbsd
	[ip]=iproute2
	[ss]=iproute2
	[ping]=iputils-ping
	[setpriv]=util-linux
	[unshare]=util-linux # a private mount namespace (the /dev/net/tun access test, the sd_notify test)
	[systemd-analyze]=systemd # verifies dist/tunstack.service
	[nft]=nftables # kernel-side loss in the impairment test, a silent server behind --forward
	[python3]=python3 # python3 -m http.server: the real server behind --forward
	[gcc]=gcc # the race detector needs cgo
	[tshark]=tshark # reads the daemon's --pcap files
	[dnsmasq]=dnsmasq-base # the DNS server behind --gateway (the binary only: no system service)
	[dig]=bind9-dnsutils # queries it through the gateway's UDP relay
)
missing=()
for cmd in "${!needed[@]}"; do
	if ! command -v "$cmd" >/dev/null 2>&1; then
		missing+=("${needed[$cmd]}")
	fi
done
# nc must be the OpenBSD flavour: the tests use -N (shut down after stdin EOF).
if command -v nc >/dev/null 2>&1; then
	nc_help=$(nc -h 2>&1 || true)
	if [[ $nc_help != *"-N"* ]]; then
		missing+=(netcat-openbsd)
	fi
fi
if [[ ${#missing[@]} -gt 0 ]]; then
	mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
	echo "==> installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# wireshark-common asks whether non-root users may capture: no.
	echo "wireshark-common wireshark-common/install-setcap boolean false" | debconf-set-selections
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" libc6-dev >/dev/null
fi

if ! command -v go >/dev/null 2>&1; then
	export PATH="$PATH:/usr/local/go/bin"
fi
if ! command -v go >/dev/null 2>&1; then
	echo "scripts/test.sh: go not found (looked in PATH and /usr/local/go/bin)" >&2
	exit 1
fi

start=$SECONDS
results=()
step() {
	local name=$1
	shift
	local t0=$SECONDS
	echo "==> $name"
	if "$@"; then
		results+=("ok    $name ($((SECONDS - t0))s)")
	else
		results+=("FAIL  $name ($((SECONDS - t0))s)")
		summary
		exit 1
	fi
}
summary() {
	echo
	echo "==> summary"
	printf '  %s\n' "${results[@]}"
	echo "  total $((SECONDS - start))s; logs in $TUNSTACK_TEST_OUT"
}

# quiet_go_test runs go test with its output in a log file: on success it
# prints one line, on failure the output of the failing packages in full
# (everything but the "ok" and "no test files" lines of the others).
quiet_go_test() {
	local log
	log=$(mktemp "$TUNSTACK_TEST_OUT/go-test.XXXXXX.log")
	if go test "$@" >"$log" 2>&1; then
		echo "  $(grep -c '^ok ' "$log") packages ok, $(grep -c '^? ' "$log") without tests (log: $log)"
		return 0
	fi
	grep -v -e '^ok ' -e '^? ' "$log"
	echo "  (full log: $log)"
	return 1
}

gofmt_check() {
	local files
	files=$(gofmt -l .)
	if [[ -n $files ]]; then
		echo "not gofmt-clean (run gofmt -w on them):"
		echo "$files"
		return 1
	fi
}

export CI=true # root-only tests fail instead of skipping when they cannot run

step "gofmt" gofmt_check
step "go vet" go vet ./...
step "go test -race (stack, tundev, cmd)" quiet_go_test -race -count=1 -timeout 5m ./stack/... ./tundev/... ./cmd/...
# The cross-check (tests/crosscheck) writes its summary to a file here.
crosscheck_file=$TUNSTACK_TEST_OUT/crosscheck.txt
export CROSSCHECK_SUMMARY=$crosscheck_file
step "go test (all, with namespace integration tests)" quiet_go_test -count=1 -timeout 5m ./...
# Every fuzz target for a few seconds beyond its seeds, which go test ran
# above (scripts/fuzz.sh 10m for a longer run).
step "fuzz targets, ${TUNSTACK_FUZZTIME:=10s} each" scripts/fuzz.sh "$TUNSTACK_FUZZTIME"

# The gVisor cross-check passed above; print its summary: how many
# scenarios behave identically on both stacks, and name the file that lists
# every intended difference with its RFC citation.
crosscheck_summary() {
	if [[ ! -s $crosscheck_file ]]; then
		echo "the cross-check wrote no summary to $crosscheck_file"
		return 1
	fi
	sed -n 's/^crosscheck: /  /p' "$crosscheck_file"
	echo "  the intended differences and gVisor's skips, each with why: $crosscheck_file"
}
step "gVisor cross-check summary" crosscheck_summary
summary
