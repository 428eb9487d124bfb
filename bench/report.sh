#!/usr/bin/env bash
# Flow report benchmark: 24-month enterprise flow reports (RRS-1 §5) at
# concurrency 32 through the in-process report service — authorization,
# query record, transparency-log entry, aggregates on SQLite, the figures,
# Ed25519 and SM2 signatures — beside the peer in the same run: the same
# report computed ad hoc with DuckDB over Parquet of the raw ACCT/TXN/BAL
# rows (report/reporttest). Before timing, reports are compared with the
# peer figure by figure. See bench/README.md.
#
#   bench/report.sh                         # 10,000 enterprises, 1 M TXN rows (a few minutes)
#   SCALE=ci bench/report.sh                # 2,000 enterprises, 200,000 TXN rows, short runs
#   SCALE=full bench/report.sh              # 1 M enterprises, 100 M TXN rows (hours, ~60 GB in WORK)
#   ENTERPRISES=100000 TXN=10000000 bench/report.sh
#
# Environment:
#   SCALE          ci, default or full (presets for the sizes below)
#   ENTERPRISES    enterprises in the region
#   TXN            TXN rows over the whole period
#   INSTITUTIONS   reporting banks (default 10; full 20)
#   MONTHS         months of data, the report window is the last 24 (default 24)
#   AUTHORIZED     enterprises onboarded with an authorization, reports pick among them (default 2000)
#   CONCURRENCY    reports in flight (default 32)
#   DURATION       how long to time the platform (default 30s)
#   PEER_DURATION  how long to time the peer (default 30s)
#   WORK           work directory, kept; a built region in it is reused (default: temporary, removed)
#   PROFILE        1: write a CPU profile of the platform phase and print its top entries
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case "${SCALE:-default}" in
ci) E=2000 T=200000 I=5 D=10s PD=10s ;;
full) E=1000000 T=100000000 I=20 D=60s PD=120s ;;
*) E=10000 T=1000000 I=10 D=30s PD=30s ;;
esac
ENTERPRISES=${ENTERPRISES:-$E}
TXN=${TXN:-$T}
INSTITUTIONS=${INSTITUTIONS:-$I}
MONTHS=${MONTHS:-24}
AUTHORIZED=${AUTHORIZED:-2000}
CONCURRENCY=${CONCURRENCY:-32}
DURATION=${DURATION:-$D}
PEER_DURATION=${PEER_DURATION:-$PD}
BIN=$(mktemp -d)
trap 'rm -rf "$BIN"' EXIT

echo ">> building bench/report" >&2
(cd "$ROOT" && go build -o "$BIN/report" ./bench/report)
args=(-enterprises "$ENTERPRISES" -txn "$TXN" -institutions "$INSTITUTIONS" -months "$MONTHS" -authorized "$AUTHORIZED"
	-concurrency "$CONCURRENCY" -duration "$DURATION" -peer-duration "$PEER_DURATION" -v)
if [ -n "${WORK:-}" ]; then args+=(-work "$WORK" -keep); fi
if [ "${PROFILE:-0}" = 1 ]; then args+=(-cpuprofile "$BIN/report.pprof"); fi

echo
echo "Flow reports, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN/report" "${args[@]}" -json >"$BIN/result.json"
j() { sed -n "s/^ *\"$1\": \([^,]*\),*$/\1/p" "$BIN/result.json" | head -1 | tr -d '"'; }
jr() { # field $2 of the ronghe (1) or peer (2) block
	awk -v want="$1" -v key="\"$2\":" '/"ronghe": {/ { b = 1 } /"peer_duckdb_parquet": {/ { b = 2 } b == want && $1 == key { gsub(/,/, "", $2); print $2; exit }' "$BIN/result.json"
}
echo "region: $(j enterprises) enterprises, $(j institutions) banks, $(j txn_rows) TXN rows, $(j bal_rows) BAL rows in $(j batches) batches," \
	"$(j months) months; window $(j window); built in $(j build_seconds | awk '{ printf "%.0f", $1 }') s, Parquet in $(j parquet_seconds | awk '{ printf "%.0f", $1 }') s"
echo "aggregates $(j store_bytes | awk '{ printf "%.0f MB", $1 / 1e6 }') (SQLite), Parquet $(j parquet_bytes | awk '{ printf "%.0f MB", $1 / 1e6 }');" \
	"$(j reports_checked_against_peer) reports equal the peer in every figure before timing; $(j authorized_enterprises) authorized enterprises"
echo
printf '%-48s %10s %9s %9s %9s %12s\n' "" "reports/s" "p50 ms" "p99 ms" "reports" "CPU ms each"
printf '%-48s %10.0f %9s %9s %9s %12s\n' "ronghe (aggregates, policy, log, signatures)" "$(jr 1 reports_per_s)" "$(jr 1 p50_ms)" "$(jr 1 p99_ms)" "$(jr 1 reports)" "$(jr 1 cpu_ms_per_report)"
printf '%-48s %10.1f %9s %9s %9s %12s\n' "peer: DuckDB ad hoc over Parquet (raw rows)" "$(jr 2 reports_per_s)" "$(jr 2 p50_ms)" "$(jr 2 p99_ms)" "$(jr 2 reports)" "$(jr 2 cpu_ms_per_report)"
echo
RATE=$(jr 1 reports_per_s)
P99=$(jr 1 p99_ms)
printf '%-40s %10s %10s %10s\n' goal ours target status
printf '%-40s %10.0f %10s %10s\n' ">= 2000 reports/s" "$RATE" 2000 "$(awk -v a="$RATE" 'BEGIN { print (a >= 2000) ? "met" : "NOT met" }')"
printf '%-40s %10s %10s %10s\n' "p99 <= 20 ms" "$P99" 20 "$(awk -v a="$P99" 'BEGIN { print (a <= 20) ? "met" : "NOT met" }')"
printf '%-40s %10.0f %10s %10s\n' "ratio to the peer (reports/s)" "$(awk -v a="$RATE" -v b="$(jr 2 reports_per_s)" 'BEGIN { printf "%.0f", a / b }')" "-" "-"

if [ "${PROFILE:-0}" = 1 ] && [ -s "$BIN/report.pprof" ]; then
	echo
	echo "platform CPU profile, cumulative:"
	(cd "$ROOT" && go tool pprof -top -cum "$BIN/report" "$BIN/report.pprof" 2>/dev/null) |
		grep -E 'Duration|ronghe/ronghe/(report|policy|sqlstore|evidence|tlog)\.|tessera/storage/posix\.\(\*appender\)\.sequenceBatch|gcBgMarkWorker|sqlite3_step$|Syscall6$' | head -30 || true
fi
