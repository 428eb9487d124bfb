#!/usr/bin/env bash
# Lakehouse benchmark: ingest into Iceberg against DuckDB COPY … TO parquet
# of the same rows, and monthly inflow per enterprise through the lake
# against DuckDB over the raw CSV batches — each pair from the same run
# (bench/cmd/lakebench), then the Go benchmarks of lake/ (BenchmarkIngest per
# batch and per day, BenchmarkDuckDBCopyParquet) on a smaller month.
#
#   bench/lake.sh                                   # ~100M TXN rows (25,600 enterprises, 20 banks, 365 days)
#   ENTERPRISES=2000 DAYS=31 bench/lake.sh          # quick
#
# Environment:
#   ENTERPRISES, INSTITUTIONS, DAYS   region size (default 25600, 20, 365)
#   RUNS        query runs, median printed (default 3)
#   WORK        working directory, kept for reuse of the region (default /tmp/ronghe-lakebench)
#   GOBENCH     0 skips the Go benchmarks
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ENTERPRISES=${ENTERPRISES:-25600}
INSTITUTIONS=${INSTITUTIONS:-20}
DAYS=${DAYS:-365}
RUNS=${RUNS:-3}
WORK=${WORK:-/tmp/ronghe-lakebench}
BIN=$(mktemp -d)
trap 'rm -rf "$BIN"' EXIT

echo ">> building lakebench" >&2
(cd "$ROOT" && go build -o "$BIN/lakebench" ./bench/cmd/lakebench)
mkdir -p "$WORK"
"$BIN/lakebench" -work "$WORK" -enterprises "$ENTERPRISES" -institutions "$INSTITUTIONS" -days "$DAYS" -runs "$RUNS"

if [ "${GOBENCH:-1}" != 0 ]; then
	echo ">> go test -bench 'BenchmarkIngest|BenchmarkDuckDBCopyParquet' ./lake/ (a month of 5 banks, 2000 enterprises)" >&2
	(cd "$ROOT" && go test -run '^$' -bench 'BenchmarkIngest|BenchmarkDuckDBCopyParquet' -benchtime 1x ./lake/) |
		grep -E '^Benchmark' || true
fi
