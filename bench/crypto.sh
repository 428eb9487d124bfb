#!/usr/bin/env bash
# Crypto table: the two suites' primitives as Ronghe uses them (suite/ and
# envelope/ Go benchmarks) beside OpenSSL's `openssl speed` for the same
# algorithms, measured in the same run. See bench/README.md.
#
#   bench/crypto.sh                    # 3 runs of each Go benchmark, median
#   COUNT=1 BENCHTIME=300ms bench/crypto.sh   # quick
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
COUNT=${COUNT:-3}
BENCHTIME=${BENCHTIME:-1s}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

echo ">> go test -run '^\$' -bench . -benchtime $BENCHTIME -count $COUNT ./suite/ ./envelope/" >&2
(cd "$ROOT" && go test -run '^$' -bench . -benchtime "$BENCHTIME" -count "$COUNT" ./suite/ ./envelope/) >"$OUT/go.txt"

# median of a Go benchmark's metric: go_metric NAME UNIT (NAME without -GOMAXPROCS)
go_metric() {
	awk -v n="$1" -v u="$2" '
		{ name = $1; sub(/-[0-9]+$/, "", name) }
		name == n { for (i = 3; i < NF; i++) if ($(i + 1) == u) v[c++] = $i }
		END {
			if (c == 0) { print "-"; exit }
			for (i = 0; i < c; i++) for (j = i + 1; j < c; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
			print v[int(c / 2)]
		}' "$OUT/go.txt"
}
ops() { # ns/op -> ops/s
	awk -v x="$1" 'BEGIN { if (x == "-") print "-"; else printf "%.0f", 1e9 / x }'
}
mbs() { awk -v x="$1" 'BEGIN { if (x == "-") print "-"; else printf "%.0f", x }'; }

echo ">> openssl speed" >&2
SIGN=$(openssl speed -seconds 1 ed25519 sm2 2>/dev/null || true)
ossl_sig() { # algorithm-line pattern, column (sign/s = NF-1, verify/s = NF)
	echo "$SIGN" | awk -v p="$1" -v c="$2" '$0 ~ p { if (c == "sign") printf "%.0f", $(NF - 1); else printf "%.0f", $NF; found = 1 } END { if (!found) print "-" }'
}
ossl_evp() { # MB/s over 1 MiB blocks, or - if OpenSSL lacks the algorithm
	{ openssl speed -seconds 1 -bytes 1048576 -evp "$1" 2>/dev/null || true; } |
		awk -v n="$1" 'tolower($1) == n { v = $NF; sub(/k$/, "", v); printf "%.0f", v / 1000; found = 1 } END { if (!found) print "-" }'
}
O_SM3=$(ossl_evp sm3)
O_SHA=$(ossl_evp sha256)
O_SM4GCM=$(ossl_evp sm4-gcm)
O_SM4CTR=$(ossl_evp sm4-ctr)
O_AES=$(ossl_evp aes-256-gcm)

row() { printf '%-34s %12s %12s %8s %12s %12s\n' "$@"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }

G_SIGN=$(ops "$(go_metric BenchmarkSign/GM ns/op)")
I_SIGN=$(ops "$(go_metric BenchmarkSign/INTL ns/op)")
G_VER=$(ops "$(go_metric BenchmarkVerify/GM ns/op)")
I_VER=$(ops "$(go_metric BenchmarkVerify/INTL ns/op)")
G_HASH=$(mbs "$(go_metric BenchmarkHash/SM3 MB/s)")
I_HASH=$(mbs "$(go_metric BenchmarkHash/SHA-256 MB/s)")
G_SEAL=$(mbs "$(go_metric BenchmarkSeal/SM4-GCM MB/s)")
I_SEAL=$(mbs "$(go_metric BenchmarkSeal/AES-256-GCM MB/s)")
W=$(awk '/^BenchmarkWriter\/GM\/workers=/ { n = $1; sub(/.*workers=/, "", n); sub(/-[0-9]+$/, "", n); if (n + 0 > w) w = n + 0 } END { print w + 0 }' "$OUT/go.txt")

echo
echo "Crypto, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Go: median of $COUNT runs of -benchtime $BENCHTIME; openssl: $(openssl version | cut -d' ' -f1-2), 1 s each, 1 MiB blocks for throughput"
echo
row "operation" "GM (Go)" "INTL (Go)" "GM/INTL" "GM openssl" "INTL openssl"
row "" "SM2/SM3/SM4" "Ed25519/SHA/AES" "" "" ""
row "sign, 256-byte message (ops/s)" "$G_SIGN" "$I_SIGN" "$(ratio "$G_SIGN" "$I_SIGN")" "$(ossl_sig 'SM2' sign)" "$(ossl_sig 'Ed25519' sign)"
row "verify (ops/s)" "$G_VER" "$I_VER" "$(ratio "$G_VER" "$I_VER")" "$(ossl_sig 'SM2' verify)" "$(ossl_sig 'Ed25519' verify)"
row "hash, 1 MiB (MB/s)" "$G_HASH" "$I_HASH" "$(ratio "$G_HASH" "$I_HASH")" "$O_SM3" "$O_SHA"
if [ "$O_SM4GCM" = - ]; then sm4o="$O_SM4CTR (CTR)"; else sm4o=$O_SM4GCM; fi
row "AEAD seal, 1 MiB, one core (MB/s)" "$G_SEAL" "$I_SEAL" "$(ratio "$G_SEAL" "$I_SEAL")" "$sm4o" "$O_AES"
for w in 1 "$W"; do
	g=$(mbs "$(go_metric "BenchmarkWriter/GM/workers=$w" MB/s)")
	i=$(mbs "$(go_metric "BenchmarkWriter/INTL/workers=$w" MB/s)")
	row "envelope Writer, $w worker(s) (MB/s)" "$g" "$i" "$(ratio "$g" "$i")" "" ""
	[ "$W" = 1 ] && break
done
g=$(mbs "$(go_metric BenchmarkWriterWithHash/GM MB/s)")
i=$(mbs "$(go_metric BenchmarkWriterWithHash/INTL MB/s)")
row "envelope Writer + hash (MB/s)" "$g" "$i" "$(ratio "$g" "$i")" "" ""
g=$(mbs "$(go_metric BenchmarkReader/GM MB/s)")
i=$(mbs "$(go_metric BenchmarkReader/INTL MB/s)")
row "envelope Reader (MB/s)" "$g" "$i" "$(ratio "$g" "$i")" "" ""
g=$(mbs "$(go_metric BenchmarkRawSeal/GM MB/s)")
i=$(mbs "$(go_metric BenchmarkRawSeal/INTL MB/s)")
row "raw AEAD seal, 64 KiB chunk (MB/s)" "$g" "$i" "$(ratio "$g" "$i")" "" ""
echo
[ -n "${KEEP:-}" ] && cp "$OUT/go.txt" "$KEEP" && echo "Go benchmark output kept in $KEEP"
true
