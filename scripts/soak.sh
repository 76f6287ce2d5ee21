#!/usr/bin/env bash
# A soak of the daemon under honest and hostile traffic at once, in a
# network namespace of its own (created here, removed on exit, also on
# failure or Ctrl-C). For --duration (default 3 minutes) it runs, against
# `tunstack up --impair ...`:
#
#   - honest short connections, 20 a second, each in its own process:
#     curl of the HTTP page and a line through echo with nc, over IPv4
#     and IPv6;
#   - honest long connections: files of random bytes through echo with nc,
#     two at a time, compared by sha256;
#   - clients that write a lot to echo and never read (soakpeer hog);
#   - a spoofed SYN flood from random sources (soakpeer synflood);
#   - malformed and random packets (soakpeer garbage);
#
# the attacks one after the other, the honest traffic all the time. Then,
# with every client gone, it waits for the daemon to settle and checks:
#
#   - every honest transfer that completed was byte-identical (a short echo
#     that came back different, or a long one whose sha256 differs or that
#     stalled, fails the soak);
#   - nothing leaked: the stack holds no connection but its listeners, and
#     the daemon's goroutines (the control socket's memstats), open file
#     descriptors (/proc/PID/fd) and resident set (VmRSS, /proc/PID/status)
#     are back to where they were after the warm-up, within --settle:
#     goroutines and descriptors within 2 of it, the RSS within 64 MiB (the
#     Go runtime returns freed memory to the kernel gradually, and the
#     loop keeps its output buffers, up to 8 batches of 128 packets of
#     64 KiB, for the next burst). The Go heap in use after a collection
#     (memstats) is printed beside them;
#   - honest connections worked before any attack (at least 90 %).
#
# Under the flood and the garbage, the honest success rate is measured and
# printed, not asserted: it depends on the SYN-cookie and queue defences.
# The figures are printed as a short summary; the exit status is non-zero on
# any failure, and the logs are kept then (their directory is printed).
#
#   scripts/soak.sh                         # 3 minutes
#   scripts/soak.sh --duration 60s --hogs 100
#   scripts/soak.sh --engine gvisor         # the same against gVisor's netstack
#
# It needs root (namespaces, TUN, raw sockets). It is not part of
# scripts/test.sh: it takes minutes.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

duration=180
settle=120
engine=native
flood_rate=20000
garbage_rate=20000
hogs=200
long_mib=4
impair="loss=1%,dup=0.5%,reorder=1%,delay=2ms"

usage() {
	cat >&2 <<'EOF'
usage: scripts/soak.sh [--duration 3m] [--settle 2m] [--engine native|gvisor]
                       [--flood-rate 20000] [--garbage-rate 20000] [--hogs 200]
                       [--long-mib 4] [--impair SPEC]
EOF
	exit 2
}

# seconds turns 90, 90s or 3m into seconds.
seconds() {
	case $1 in
	*m) echo $((${1%m} * 60)) ;;
	*s) echo "${1%s}" ;;
	*) echo "$1" ;;
	esac
}

while [[ $# -gt 0 ]]; do
	case $1 in
	--duration) duration=$(seconds "$2"); shift 2 ;;
	--settle) settle=$(seconds "$2"); shift 2 ;;
	--engine) engine=$2; shift 2 ;;
	--flood-rate) flood_rate=$2; shift 2 ;;
	--garbage-rate) garbage_rate=$2; shift 2 ;;
	--hogs) hogs=$2; shift 2 ;;
	--long-mib) long_mib=$2; shift 2 ;;
	--impair) impair=$2; shift 2 ;;
	*) usage ;;
	esac
done
[[ $duration =~ ^[0-9]+$ && $duration -ge 20 ]] || { echo "scripts/soak.sh: --duration must be at least 20s" >&2; exit 2; }
[[ $settle =~ ^[0-9]+$ ]] || usage

if [[ $(id -u) -ne 0 ]]; then
	echo "scripts/soak.sh: run it as root (sudo scripts/soak.sh): it creates a network namespace, a TUN device and raw sockets" >&2
	exit 1
fi
if ! command -v go >/dev/null 2>&1; then
	export PATH="$PATH:/usr/local/go/bin"
fi
for cmd in go ip curl nc sha256sum; do
	command -v "$cmd" >/dev/null 2>&1 || { echo "scripts/soak.sh: $cmd not found (scripts/test.sh installs what it needs)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/tunstack-soak.XXXXXX)
ns="tsoak-$$-$RANDOM"
dev=tsoak0
control=$work/ctl.sock
daemon_pid=
monitor_pid=
jobs_pids=()
failed=0

cleanup() {
	local rc=$?
	for pid in "${jobs_pids[@]}" $monitor_pid; do
		kill "$pid" 2>/dev/null || true
	done
	if [[ -n $daemon_pid ]] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$daemon_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$daemon_pid" 2>/dev/null || true
	fi
	wait 2>/dev/null || true
	if [[ -e /run/netns/$ns ]]; then
		ip netns del "$ns" 2>/dev/null || true
	fi
	if [[ $rc -eq 0 && $failed -eq 0 ]]; then
		rm -rf "$work"
	else
		echo "soak: logs kept in $work" >&2
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf 'soak: %s\n' "$*"; }
fail() {
	failed=1
	printf 'soak: FAIL: %s\n' "$*" | tee -a "$work/failures"
}

say "building tunstack and soakpeer"
go build -o "$work/tunstack" ./cmd/tunstack
go build -o "$work/soakpeer" ./tests/soakpeer

ip netns add "$ns"
ip -n "$ns" link set lo up
"$work/tunstack" up --netns "$ns" --dev "$dev" --control "$control" --engine "$engine" \
	--msl 5s --impair "$impair" --log-level warn >"$work/daemon.log" 2>&1 &
daemon_pid=$!

# control OP prints the daemon's one-line answer to {"op":OP}.
control() { printf '{"op":"%s"}\n' "$1" | nc -N -U "$control" 2>/dev/null; }
field() { grep -o "\"$1\":[0-9]*" | head -1 | cut -d: -f2; }
fds() { ls "/proc/$daemon_pid/fd" 2>/dev/null | wc -l; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$daemon_pid/status" 2>/dev/null || echo 0; }
# busy prints the stack's connections that are not listeners, by state.
busy() {
	control memstats | grep -o '"states":{[^}]*}' | tr -d '{}"' | sed 's/^states://' | tr ',' '\n' |
		grep -v '^LISTEN:' | grep -v ':0$' | tr '\n' ' ' || true
}

deadline=$((SECONDS + 20))
until [[ -S $control ]] && control memstats | grep -q '"ok":true'; do
	if ! kill -0 "$daemon_pid" 2>/dev/null || [[ $SECONDS -ge $deadline ]]; then
		cat "$work/daemon.log" >&2
		fail "the daemon did not come up"
		exit 1
	fi
	sleep 0.2
done
# Until duplicate address detection is over, the kernel does not use
# fd00:77::1 as a source.
deadline=$((SECONDS + 10))
while ip -n "$ns" -6 addr show tentative | grep -q inet6 && [[ $SECONDS -lt $deadline ]]; do sleep 0.2; done

# The clients run inside the namespace, as functions of this script.
# ms is the time in milliseconds, without a process of its own.
ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
short_attempt() { # i kind out
	local i=$1 kind=$2 out=$3 t0 t1 got rc status
	t0=$(ms)
	case $kind in
	http4 | http6)
		local url=http://10.77.0.2/
		[[ $kind == http6 ]] && url='http://[fd00:77::2]/'
		got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url") && rc=0 || rc=$?
		if [[ $rc -eq 0 && $got == 200 ]]; then status=ok; else status=fail; fi
		;;
	echo4 | echo6)
		local addr=10.77.0.2
		[[ $kind == echo6 ]] && addr=fd00:77::2
		got=$(printf 'soak line %d\n' "$i" | timeout 6 nc -N -w 5 "$addr" 7 2>/dev/null) && rc=0 || rc=$?
		if [[ $rc -eq 0 && $got == "soak line $i" ]]; then
			status=ok
		elif [[ $rc -eq 0 && -n $got ]]; then
			status=corrupt
		else
			status=fail
		fi
		;;
	esac
	t1=$(ms)
	echo "$t0 $kind $status $((t1 - t0))" >>"$out"
}
short_loop() { # end_ms out: an attempt every 50 ms, each in its own process
	local end=$1 out=$2 i=0 kinds=(http4 echo4 http6 echo6) next tick
	exec {tick}<> <(:) # read -t on it sleeps without a process
	next=$(ms)
	while ((next < end)); do
		short_attempt "$i" "${kinds[i % 4]}" "$out" &
		i=$((i + 1))
		next=$((next + 50))
		local wait=$((next - $(ms)))
		if ((wait > 0)); then
			read -rt "$(printf '0.%03d' "$wait")" -u "$tick" || true
		fi
	done
	wait
}
long_loop() { # id end_ms mib out dir
	local id=$1 end=$2 mib=$3 out=$4 dir=$5 n=0 file sum got rc t0 t1 addr status
	file=$dir/long-$id.bin
	head -c $((mib << 20)) /dev/urandom >"$file"
	sum=$(sha256sum <"$file" | cut -d' ' -f1)
	while (($(ms) < end)); do
		addr=10.77.0.2
		((n % 2)) && addr=fd00:77::2
		t0=$(ms)
		got=$(
			set -o pipefail
			timeout 120 nc -N -w 30 "$addr" 7 <"$file" | tee "$file.back" | sha256sum | cut -d' ' -f1
		) && rc=0 || rc=$?
		t1=$(ms)
		if [[ $got == "$sum" ]]; then
			status=identical
		elif [[ $rc -eq 0 && $(stat -c %s "$file.back") -lt $((mib << 20)) ]]; then
			status=stalled # nc's 30 s idle time-out ended it with fewer bytes
		elif [[ $rc -eq 0 ]]; then
			status=corrupt # as many bytes or more, but other ones
		else
			status=failed
		fi
		echo "$t0 long$id $status $((t1 - t0)) $mib" >>"$out"
		n=$((n + 1))
	done
}
clients="$(declare -f ms short_attempt short_loop long_loop)"
in_ns() { ip netns exec "$ns" "$@"; }

say "warming up"
now_ms() { date +%s%3N; }
in_ns bash -c "$clients; short_loop $(($(now_ms) + 2000)) $work/warmup.txt"
in_ns bash -c "$clients; long_loop w $(($(now_ms) + 1)) 1 $work/warmup.txt $work"
deadline=$((SECONDS + settle))
until [[ -z $(busy) ]]; do
	[[ $SECONDS -lt $deadline ]] || { fail "the warm-up's connections did not end: $(busy)"; exit 1; }
	sleep 1
done
sleep 2
m=$(control memstats)
base_g=$(field goroutines <<<"$m")
base_heap=$((($(field heap_inuse <<<"$m") + $(field stack_inuse <<<"$m")) >> 20))
base_fds=$(fds)
base_rss=$(($(rss_kib) >> 10))
say "start: $base_g goroutines, $base_fds fds, Go heap $base_heap MiB, RSS $base_rss MiB"

# Samples of the daemon while the load runs, every 2 s.
(
	while kill -0 "$daemon_pid" 2>/dev/null; do
		m=$(control memstats)
		echo "$(field goroutines <<<"$m") $(fds) $((($(field heap_inuse <<<"$m") + $(field stack_inuse <<<"$m")) >> 20)) $(($(rss_kib) >> 10))"
		sleep 2
	done
) >"$work/samples.txt" 2>/dev/null &
monitor_pid=$!

start_ms=$(now_ms)
end_ms=$((start_ms + duration * 1000))
at() { echo $((start_ms + duration * $1 * 10)); } # at PERCENT: a time in the run
# The phases: before any attack, hogs, the flood, garbage, after.
hog_from=$(at 10) hog_to=$(at 30)
flood_from=$(at 30) flood_to=$(at 55)
garbage_from=$(at 55) garbage_to=$(at 80)
secs() { echo $((($2 - $1) / 1000)); }

say "load for ${duration}s: honest short and long connections throughout; hogs, then a SYN flood, then garbage"
in_ns bash -c "$clients; short_loop $end_ms $work/short.txt" &
jobs_pids+=($!)
for id in 1 2; do
	in_ns bash -c "$clients; long_loop $id $end_ms $long_mib $work/long.txt $work" &
	jobs_pids+=($!)
done
# wait_until MS sleeps until the run's clock reaches MS.
wait_until() { while (($(now_ms) < $1)); do sleep 0.2; done; }
(
	wait_until "$hog_from"
	in_ns "$work/soakpeer" hog -dst 10.77.0.2:7 -conns "$hogs" -bytes $((1 << 20)) -hold "$(secs "$hog_from" "$hog_to")s"
	wait_until "$flood_from"
	in_ns "$work/soakpeer" synflood -dst 10.77.0.2:80 -rate "$flood_rate" -duration "$(secs "$flood_from" "$flood_to")s" &
	in_ns "$work/soakpeer" synflood -dst '[fd00:77::2]:80' -rate $((flood_rate / 4)) -duration "$(secs "$flood_from" "$flood_to")s" &
	wait
	wait_until "$garbage_from"
	in_ns "$work/soakpeer" garbage -dst 10.77.0.2 -rate "$garbage_rate" -duration "$(secs "$garbage_from" "$garbage_to")s" &
	in_ns "$work/soakpeer" garbage -dst fd00:77::2 -rate $((garbage_rate / 4)) -duration "$(secs "$garbage_from" "$garbage_to")s" &
	wait
) >"$work/attacks.txt" 2>&1 &
attacks_pid=$!
jobs_pids+=($attacks_pid)
for pid in "${jobs_pids[@]}"; do
	wait "$pid" || fail "a load job exited with status $? (see $work)"
done
jobs_pids=()
kill -0 "$daemon_pid" 2>/dev/null || { fail "the daemon died under load"; tail -20 "$work/daemon.log" >&2; exit 1; }

say "load done; waiting up to ${settle}s for the daemon to settle"
settle_start=$SECONDS
deadline=$((SECONDS + settle))
while :; do
	m=$(control memstats)
	end_g=$(field goroutines <<<"$m")
	end_heap=$((($(field heap_inuse <<<"$m") + $(field stack_inuse <<<"$m")) >> 20))
	end_fds=$(fds)
	end_rss=$(($(rss_kib) >> 10))
	left=$(busy)
	if [[ -z $left && $end_g -le $((base_g + 2)) && $end_fds -le $((base_fds + 2)) && $end_rss -le $((base_rss + 64)) ]]; then
		settled=$((SECONDS - settle_start))
		break
	fi
	if [[ $SECONDS -ge $deadline ]]; then
		settled=
		break
	fi
	sleep 2
done
kill "$monitor_pid" 2>/dev/null || true
status_json=$(control status)

# The figures.
echo
say "summary (${duration}s, engine $engine, impairment $impair)"
printf '  honest short connections (curl HTTP and nc echo, IPv4 and IPv6, 20 a second):\n'
printf '    %-9s %9s %9s %8s %8s %8s\n' phase attempts ok rate p50_ms p99_ms
awk -v hf="$hog_from" -v ht="$hog_to" -v ff="$flood_from" -v ft="$flood_to" -v gf="$garbage_from" -v gt="$garbage_to" '
	# The flood phase takes the second after the flood, as RFC 4987 defences are judged.
	function phase(t) {
		if (t < hf) return "before"; if (t < ht) return "hogs"; if (t < ft + 1000) return "flood"
		if (t < gt) return "garbage"; return "after"
	}
	{ p = phase($1); n[p]++; if ($3 == "ok") { ok[p]++; lat[p, ok[p]] = $4 } if ($3 == "corrupt") bad++ }
	END {
		split("before hogs flood garbage after", order, " ")
		for (i = 1; i <= 5; i++) {
			p = order[i]; if (!n[p]) continue
			k = ok[p] + 0
			# latencies of the successes, sorted (insertion sort: small n)
			for (a = 2; a <= k; a++) { v = lat[p, a]; b = a - 1; while (b >= 1 && lat[p, b] > v) { lat[p, b + 1] = lat[p, b]; b-- } lat[p, b + 1] = v }
			p50 = k ? lat[p, int((k + 1) / 2)] : 0; p99 = k ? lat[p, int(k * 0.99 + 0.999)] : 0
			printf "    %-9s %9d %9d %7.1f%% %8d %8d\n", p, n[p], k, 100 * k / n[p], p50, p99
			if (p == "before") print 100 * k / n[p] > "'"$work"'/calm_rate"
		}
		print bad + 0 > "'"$work"'/short_corrupt"
	}' "$work/short.txt"
read -r corrupt_short <"$work/short_corrupt"
calm_rate=$(cat "$work/calm_rate" 2>/dev/null || echo 0)
awk '{ n++; s[$3]++; if ($3 == "identical") { mib += $5; ms += $4 } }
	END { printf "  long transfers through echo: %d, %d identical (%d MiB, %.1f MiB/s each), %d corrupted, %d stalled, %d failed\n",
		n, s["identical"], mib, ms ? mib / (ms / 1000 / 2) / 2 : 0, s["corrupt"], s["stalled"], s["failed"]
		print s["corrupt"] + 0 > "'"$work"'/long_corrupt"; print s["stalled"] + 0 > "'"$work"'/long_stalled"
		print s["failed"] + 0 > "'"$work"'/long_failed"; print n + 0 > "'"$work"'/long_n" }' "$work/long.txt"
read -r corrupt_long <"$work/long_corrupt"
read -r stalled_long <"$work/long_stalled"
read -r failed_long <"$work/long_failed"
read -r long_n <"$work/long_n"
printf '  attacks:\n'
sed 's/^/    /' "$work/attacks.txt"
printf '  daemon:        %8s %8s %8s   %s\n' start peak end "(end must be within)"
peak() { awk -v c="$1" 'BEGIN { m = 0 } $c > m { m = $c } END { print m }' "$work/samples.txt"; }
printf '    goroutines   %8d %8d %8d   start+2\n' "$base_g" "$(peak 1)" "$end_g"
printf '    fds          %8d %8d %8d   start+2\n' "$base_fds" "$(peak 2)" "$end_fds"
printf '    Go heap MiB  %8d %8d %8d   (printed only)\n' "$base_heap" "$(peak 3)" "$end_heap"
printf '    RSS MiB      %8d %8d %8d   start+64\n' "$base_rss" "$(peak 4)" "$end_rss"
if [[ -n $settled ]]; then
	printf '  settled %ds after the load ended\n' "$settled"
fi
# counters prints the stack's drops (the largest), the answers its rate
# limits held back, and whatever counters name SYN cookies, listen queues
# or fragments (once the stack has them), from the control socket's status.
counters() {
	local j=$1
	grep -o '"drops":{[^}]*}' <<<"$j" | sed 's/^"drops":{//; s/}$//' | tr ',' '\n' | tr -d '"' |
		sort -t: -k2 -rn | head -10 | sed 's/^/drop /' || true
	grep -o '"rate_limited":{[^}]*}' <<<"$j" | sed 's/^"rate_limited":{//; s/}$//' | tr ',' '\n' | tr -d '"' |
		sed 's/^/held back by the rate limit /' || true
	grep -oE '"[a-z_]*(cookie|syn_queue|accept_queue|overflow|frag)[a-z_]*":[0-9]+' <<<"$j" | tr -d '"' | sort -u || true
}
printf '  stack counters:\n'
counters "$status_json" | sed 's/^/    /'

# The verdict.
[[ $corrupt_short -eq 0 ]] || fail "$corrupt_short short echo exchanges came back different"
[[ $corrupt_long -eq 0 ]] || fail "$corrupt_long long transfers came back different"
[[ $stalled_long -eq 0 ]] || fail "$stalled_long long transfers stalled (30 s without a byte) and came back short"
[[ $long_n -gt 0 && $failed_long -lt $long_n ]] || fail "no long transfer completed ($failed_long of $long_n failed)"
awk -v r="$calm_rate" 'BEGIN { exit !(r >= 90) }' || fail "only $calm_rate% of honest connections worked before any attack (want 90%)"
if [[ -z $settled ]]; then
	fail "the daemon did not settle within ${settle}s: connections left: '${left:-none}'; goroutines $end_g (start $base_g), fds $end_fds (start $base_fds), RSS $end_rss MiB (start $base_rss)"
fi
if [[ $failed -ne 0 ]]; then
	exit 1
fi
say "PASS: every honest transfer byte-identical, nothing leaked"
