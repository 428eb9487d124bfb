#!/usr/bin/env bash
# Small-message benchmark: N signed 1 KiB submissions at concurrency 32
# through the real client over TLS against a real `ronghe serve`
# (bench/cmd/smallmsg), with the peer figure measured in the same run:
# Tessera's own append rate (tlog's BenchmarkAppendAwait: append + a signed
# checkpoint covering it, 32 callers), once before and once after.
# See bench/README.md.
#
#   bench/small-messages.sh              # 100,000 submissions
#   N=5000 bench/small-messages.sh       # quick run
#
# Environment:
#   N            submissions (default 100000)
#   CONCURRENCY  in flight (default 32)
#   BANKS        institutions onboarded (default 8)
#   SUITE        INTL, GM or mixed (default mixed: banks alternate)
#   SIZE         bytes per file (default 1024)
#   PEER_N       appends per tlog benchmark run (default 20000)
#   MAX_TIME     stop starting submissions after this long (Go duration, e.g. 10m)
#                and report those made; default no limit
#   PROFILE      1: the server writes a Go CPU profile; its top entries are printed
#   WORK         scratch directory (default: a temporary one, removed)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-100000}
CONCURRENCY=${CONCURRENCY:-32}
BANKS=${BANKS:-8}
SUITE=${SUITE:-mixed}
SIZE=${SIZE:-1024}
PEER_N=${PEER_N:-20000}
BIN=$(mktemp -d)
trap 'rm -rf "$BIN"' EXIT

echo ">> building ronghe and smallmsg" >&2
(cd "$ROOT" && go build -o "$BIN/ronghe" ./cmd/ronghe && go build -o "$BIN/smallmsg" ./bench/cmd/smallmsg)
(cd "$ROOT" && go test -c -o "$BIN/tlog.test" ./tlog)

peer() {
	echo ">> peer: tlog BenchmarkAppendAwait, $PEER_N appends, 32 callers" >&2
	(cd "$ROOT/tlog" && "$BIN/tlog.test" -test.run '^$' -test.bench '^BenchmarkAppendAwait$' -test.benchtime "${PEER_N}x") |
		awk '/^BenchmarkAppendAwait/ { for (i = 3; i < NF; i++) { if ($(i + 1) == "appends/s") r = $i; if ($(i + 1) == "p50_ms") a = $i; if ($(i + 1) == "p99_ms") b = $i } }
			END { printf "%.0f %s %s\n", r, a, b }'
}
P1=$(peer)

args=(-ronghe "$BIN/ronghe" -n "$N" -concurrency "$CONCURRENCY" -banks "$BANKS" -suite "$SUITE" -size "$SIZE" -json)
if [ -n "${WORK:-}" ]; then args+=(-work "$WORK" -keep); fi
if [ -n "${MAX_TIME:-}" ]; then args+=(-max-time "$MAX_TIME"); fi
if [ "${PROFILE:-0}" = 1 ]; then args+=(-cpuprofile "$BIN/server.pprof"); fi
echo ">> ronghe: $N submissions of $SIZE B, concurrency $CONCURRENCY, $BANKS banks ($SUITE)" >&2
set +e
RES=$("$BIN/smallmsg" "${args[@]}")
rc=$?
set -e
[ -n "$RES" ] || { echo "smallmsg failed (exit $rc)" >&2; exit 1; }

P2=$(peer)

j() { echo "$RES" | sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" | tr -d '"'; }
peer_med() { # median of the two peer runs' field $1 (1 rate, 2 p50, 3 p99): the mean of two
	awk -v a="$(echo "$P1" | cut -d' ' -f"$1")" -v b="$(echo "$P2" | cut -d' ' -f"$1")" 'BEGIN { printf "%.1f", (a + b) / 2 }'
}
RATE=$(j messages_per_s)
P99=$(j p99_ms)
PEER=$(peer_med 1)

echo
echo "Small messages, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '%-52s %12s %9s %9s %9s\n' "" "messages/s" "p50 ms" "p99 ms" "p99.9 ms"
printf '%-52s %12.0f %9s %9s %9s\n' "ronghe submit (sign, upload, log, verified receipt)" "$RATE" "$(j p50_ms)" "$P99" "$(j p999_ms)"
printf '%-52s %12s %9s %9s %9s\n' "peer: Tessera append+checkpoint (tlog, before)" "$(echo "$P1" | cut -d' ' -f1)" "$(echo "$P1" | cut -d' ' -f2)" "$(echo "$P1" | cut -d' ' -f3)" "-"
printf '%-52s %12s %9s %9s %9s\n' "peer: Tessera append+checkpoint (tlog, after)" "$(echo "$P2" | cut -d' ' -f1)" "$(echo "$P2" | cut -d' ' -f2)" "$(echo "$P2" | cut -d' ' -f3)" "-"
echo
[ -z "$(j stopped)" ] || echo "stopped early ($(j stopped)): $(j submissions) of $(j requested) made"
echo "submissions $(j submissions) (failed $(j failed)), $(j banks) banks ($(j suite)), concurrency $(j concurrency), $(j seconds | awk '{ printf "%.0f", $1 }') s"
echo "server CPU $(j server_cpu_s | awk '{ printf "%.1f", $1 }') s ($(awk -v c="$(j server_cpu_s)" -v n="$(j submissions)" 'BEGIN { printf "%.2f", c * 1000 / n }') ms/message), peak RSS $(j server_peak_rss_mb | awk '{ printf "%.0f", $1 }') MB;" \
	"client CPU $(awk -v c="$(j client_cpu_s)" -v n="$(j submissions)" 'BEGIN { printf "%.2f", c * 1000 / n }') ms/message"
[ -z "$(j first_error)" ] || echo "first error: $(j first_error)"
echo
printf '%-40s %10s %10s %8s %10s\n' goal ours target ratio status
printf '%-40s %10.0f %10s %8s %10s\n' ">= 3000 receipted messages/s" "$RATE" 3000 "$(awk -v a="$RATE" 'BEGIN { printf "%.2f", a / 3000 }')" \
	"$(awk -v a="$RATE" 'BEGIN { print (a >= 3000) ? "met" : "NOT met" }')"
printf '%-40s %10s %10s %8s %10s\n' "p99 < 100 ms" "$P99" 100 "-" "$(awk -v a="$P99" 'BEGIN { print (a < 100) ? "met" : "NOT met" }')"
printf '%-40s %10.0f %10.0f %8s %10s\n' "ratio to Tessera alone (same run)" "$RATE" "$PEER" "$(awk -v a="$RATE" -v b="$PEER" 'BEGIN { printf "%.3f", a / b }')" "-"

if [ "${PROFILE:-0}" = 1 ] && [ -s "$BIN/server.pprof" ]; then
	if [ -n "${WORK:-}" ]; then
		cp "$BIN/server.pprof" "$WORK/server.pprof"
		cp "$BIN/ronghe" "$WORK/ronghe"
		echo "profile kept: go tool pprof $WORK/ronghe $WORK/server.pprof"
	fi
	echo
	echo "server CPU profile, cumulative, Ronghe/Tessera/SQLite frames and GC:"
	{ (cd "$ROOT" && go tool pprof -top -cum "$BIN/ronghe" "$BIN/server.pprof" 2>/dev/null) |
		grep -E 'Duration|ronghe/ronghe/(httpapi|exchange|sqlstore|tlog|blobstore|evidence)\.|tessera/storage/posix\.\(\*appender\)\.sequenceBatch|gcBgMarkWorker|sqlite3_step$|Syscall6$' | head -40; } || true
fi
exit "$rc"
