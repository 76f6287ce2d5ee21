#!/usr/bin/env bash
# Compares tunstack's TCP/IP engine with gVisor's netstack on the same TUN
# device: builds tunstack, then runs `tunstack bench`, which creates a
# network namespace, runs the daemon there with each engine in turn, drives
# both with the same clients (wrk and tunstack's own bench client) and
# prints one table with the ratio tunstack/gVisor of each figure. The
# namespace is removed at the end, also on failure or Ctrl-C.
#
#   sudo scripts/bench.sh               # the full run, a few minutes
#   sudo scripts/bench.sh --quick       # a short run, under a minute
#   sudo scripts/bench.sh --runs 3      # medians of three runs
#   sudo scripts/bench.sh --profile DIR # and a CPU profile of each daemon
#
# Then it measures forwarding (`tunstack bench forward`): a server on the
# kernel's side reached straight, through --forward and through Toxiproxy;
# and the gateway (`tunstack bench gateway`): iperf3 and connections from
# a client namespace to a server namespace over the kernel's path,
# through tunstack up --gateway with each engine, slirp4netns and pasta.
#
# Every argument goes to `tunstack bench` (see `tunstack bench --help`).
# Needs root; installs what it needs from Debian (wrk, iproute2, iperf3,
# slirp4netns, passt).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ $(id -u) -ne 0 ]]; then
	echo "scripts/bench.sh: run it as root (sudo scripts/bench.sh): the bench creates a network namespace and TUN devices" >&2
	exit 1
fi

# command -> Debian package that provides it.
declare -A needed=(
	[wrk]=wrk
	[ip]=iproute2
	[iperf3]=iperf3
	[slirp4netns]=slirp4netns
	[pasta]=passt
)
missing=()
for cmd in "${!needed[@]}"; do
	if ! command -v "$cmd" >/dev/null 2>&1; then
		missing+=("${needed[$cmd]}")
	fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
	echo "==> installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v go >/dev/null 2>&1; then
	export PATH="$PATH:/usr/local/go/bin"
fi
if ! command -v go >/dev/null 2>&1; then
	echo "scripts/bench.sh: go not found (looked in PATH and /usr/local/go/bin)" >&2
	exit 1
fi

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
echo "==> go build ./cmd/tunstack"
go build -o "$bin/tunstack" ./cmd/tunstack

# The memory figures keep 10,000 connections open in the client; the
# client raises its own limit, this only helps where the hard limit is low.
ulimit -n 1048576 2>/dev/null || true

echo "==> tunstack bench $*"
"$bin/tunstack" bench "$@"

# The forwarding figures: a kernel-side server reached straight, through
# --forward, and through Toxiproxy's own server, built from the module
# version the API's test uses; then the gateway figures. Both take --quick
# and --runs; the gateway also --profile (gateway-ENGINE.pprof in DIR).
forward_args=()
gateway_args=()
while [[ $# -gt 0 ]]; do
	case $1 in
	--quick) forward_args+=("$1") ;;
	--runs) forward_args+=("$1" "$2"); shift ;;
	--runs=*) forward_args+=("$1") ;;
	--profile) gateway_args+=("$1" "$2"); shift ;;
	--profile=*) gateway_args+=("$1") ;;
	esac
	shift
done
gateway_args+=("${forward_args[@]}")
echo "==> go install github.com/Shopify/toxiproxy/v2/cmd/server@v2.5.0"
GOBIN="$bin" go install github.com/Shopify/toxiproxy/v2/cmd/server@v2.5.0
echo "==> tunstack bench forward ${forward_args[*]}"
"$bin/tunstack" bench forward --toxiproxy "$bin/server" "${forward_args[@]}"
echo "==> tunstack bench gateway ${gateway_args[*]}"
"$bin/tunstack" bench gateway "${gateway_args[@]}"
