#!/usr/bin/env bash
# Rule-engine benchmark: about 10 million TXN rows (with their ACCT, BAL, GL,
# STAT, FXP and CTL files) as RRS-1 CSV batches through every rule, end to end
# from the files, three ways in the same run:
#
#   ours  `ronghe validate --json DIR > /dev/null` (staging, built-in field
#         checks, the compiled rule set, findings printed)
#   peer  hand-written DuckDB SQL, one query per rule, each reading the CSV
#         files it needs (bench/validate_peer.sql via bench/cmd/validatepeer)
#   bare  DuckDB read_csv count(*) of the same files: the cost of reading them
#
# It prints wall and CPU seconds, TXN rows/s and peak RSS of each, and the
# ratios. See bench/README.md.
#
#   bench/validate.sh                        # ~10M TXN rows (8 banks, 30,500 enterprises, 31 days)
#   ENTERPRISES=3000 DAYS=10 bench/validate.sh   # quick
#
# Environment:
#   WORK          scratch directory (default /tmp/ronghe-bench-validate); the
#                 region is generated once and reused by runs with the same size
#   INSTITUTIONS, ENTERPRISES, PEOPLE, DAYS, START   region size (gen flags)
#   SKIP_PEER=1   skip the per-rule SQL peer (it takes minutes at full size)
set -euo pipefail

WORK=${WORK:-/tmp/ronghe-bench-validate}
INSTITUTIONS=${INSTITUTIONS:-8}
ENTERPRISES=${ENTERPRISES:-30500}
PEOPLE=${PEOPLE:-100000}
DAYS=${DAYS:-31}
START=${START:-2025-03-01}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$WORK/bin"

log() { printf '>> %s\n' "$*" >&2; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "-" }'; }

# timev CMD… runs a command under /usr/bin/time -v and sets WALL, CPU (user +
# system seconds) and RSS_MB from its report.
timev() {
	local report="$WORK/time.txt"
	/usr/bin/time -v -o "$report" "$@"
	WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$report")
	CPU=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.2f", u + s }' "$report")
	RSS_MB=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$report")
}

log "building ronghe and the peer"
(cd "$ROOT" && go build -o "$WORK/bin/ronghe" ./cmd/ronghe && go build -o "$WORK/bin/validatepeer" ./bench/cmd/validatepeer)

REGION="$WORK/region"
PARAMS="institutions=$INSTITUTIONS enterprises=$ENTERPRISES people=$PEOPLE days=$DAYS start=$START"
if [[ ! -f "$REGION/region.json" || "$(cat "$WORK/region.params" 2>/dev/null)" != "$PARAMS" ]]; then
	log "generating the region ($PARAMS)"
	rm -rf "$REGION"
	"$WORK/bin/ronghe" gen --json --institutions "$INSTITUTIONS" --enterprises "$ENTERPRISES" --people "$PEOPLE" \
		--days "$DAYS" --start "$START" --out "$REGION" > "$WORK/gen.json"
	echo "$PARAMS" > "$WORK/region.params"
fi
TXN_ROWS=$(awk -F': ' '/"TXN"/ { gsub(/[^0-9]/, "", $2); print $2; exit }' "$WORK/gen.json")
CSV_BYTES=$(du -cb "$REGION"/*_*_*/*.csv | tail -1 | cut -f1)
TXN_BYTES=$(du -cb "$REGION"/*_*_*/TXN.csv | tail -1 | cut -f1)
log "region: $TXN_ROWS TXN rows, $((CSV_BYTES / 1048576)) MiB CSV ($((TXN_BYTES / 1048576)) MiB TXN); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$REGION"/*_*_*/*.csv > /dev/null # page cache

log "bare: DuckDB read_csv count of every file"
timev "$WORK/bin/validatepeer" -root "$REGION" -bare > "$WORK/bare.txt"
BARE_WALL=$WALL BARE_CPU=$CPU BARE_RSS=$RSS_MB
BARE_TXN=$(awk '/^count TXN/ { sub("s", "", $3); print $3 }' "$WORK/bare.txt")

log "ours: ronghe validate --json"
timev "$WORK/bin/ronghe" validate --json "$REGION" > "$WORK/ours.jsonl"
OURS_WALL=$WALL OURS_CPU=$CPU OURS_RSS=$RSS_MB
OURS_FINDINGS=$(wc -l < "$WORK/ours.jsonl")

if [[ "${SKIP_PEER:-}" != 1 ]]; then
	log "peer: per-rule DuckDB SQL"
	timev "$WORK/bin/validatepeer" -root "$REGION" -sql "$ROOT/bench/validate_peer.sql" > "$WORK/peer.txt"
	PEER_WALL=$WALL PEER_CPU=$CPU PEER_RSS=$RSS_MB
	PEER_FINDINGS=$(awk '/findings$/ { n += $(NF-1) } END { print n + 0 }' "$WORK/peer.txt")
	sed -n '/findings$/p' "$WORK/peer.txt" | sed 's/^/   peer /' >&2
fi

echo
echo "rule engine benchmark: $TXN_ROWS TXN rows, $((CSV_BYTES / 1048576)) MiB CSV in $(ls -d "$REGION"/*_*_* | wc -l) batches, $(nproc) CPUs"
printf '%-34s %9s %9s %14s %8s %9s\n' "" "wall s" "cpu s" "TXN rows/s" "RSS MB" "findings"
printf '%-34s %9.2f %9.2f %14s %8s %9s\n' "ours: ronghe validate --json" "$OURS_WALL" "$OURS_CPU" "$(rate "$TXN_ROWS" "$OURS_WALL")" "$OURS_RSS" "$OURS_FINDINGS"
if [[ -n "${PEER_WALL:-}" ]]; then
	printf '%-34s %9.2f %9.2f %14s %8s %9s\n' "peer: per-rule DuckDB SQL" "$PEER_WALL" "$PEER_CPU" "$(rate "$TXN_ROWS" "$PEER_WALL")" "$PEER_RSS" "$PEER_FINDINGS"
fi
printf '%-34s %9.2f %9.2f %14s %8s\n' "bare: DuckDB read_csv count, all" "$BARE_WALL" "$BARE_CPU" "$(rate "$TXN_ROWS" "$BARE_WALL")" "$BARE_RSS"
printf '%-34s %9.2f %9s %14s\n' "bare: DuckDB read_csv count, TXN" "$BARE_TXN" "" "$(rate "$TXN_ROWS" "$BARE_TXN")"
echo
if [[ -n "${PEER_WALL:-}" ]]; then
	echo "peer / ours: $(ratio "$PEER_WALL" "$OURS_WALL")x wall, $(ratio "$PEER_CPU" "$OURS_CPU")x cpu"
fi
echo "ours / bare scan (all files): $(ratio "$OURS_WALL" "$BARE_WALL")x wall, $(ratio "$OURS_CPU" "$BARE_CPU")x cpu"
