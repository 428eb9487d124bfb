#!/usr/bin/env bash
# Large-file benchmark: one big batch file through `ronghe submit` to a local
# `ronghe serve` (TLS 1.3, mutual TLS) for an INTL and a GM institution,
# against OpenSSH sftp (aes128-gcm) putting the same file over loopback, with
# the machine's durable disk write rate (dd conv=fdatasync) and one-core
# crypto rates measured in the same run. See bench/README.md.
#
#   bench/large-file.sh                 # 2 GiB
#   SIZE_MIB=256 bench/large-file.sh    # quick run
#
# Environment:
#   SIZE_MIB   file size in MiB (default 2048)
#   WORK       scratch directory (default /tmp/ronghe-bench-large); the random
#              file is kept there and reused by later runs of the same size
#   PORT       first TCP port for ronghe serve (default 18500)
#   SKIP_SFTP  1 to skip the sftp peer (e.g. no openssh-server)
#   SUITES     suites to run (default "INTL GM")
#   PROFILE    a directory: write Go CPU profiles of the server and of submit
#              there (serve-GM.pprof, submit-GM.pprof, …; go tool pprof)
set -euo pipefail

SIZE_MIB=${SIZE_MIB:-2048}
WORK=${WORK:-/tmp/ronghe-bench-large}
PORT=${PORT:-18500}
SUITES=${SUITES:-INTL GM}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BYTES=$((SIZE_MIB * 1024 * 1024))
mkdir -p "$WORK"
BIG="$WORK/big-${SIZE_MIB}MiB.bin"

log() { printf '>> %s\n' "$*" >&2; }
now() { date +%s.%N; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", b / s / 1e6; else print "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "-") printf "%.2f", a / b; else print "-" }'; }

# Clean up everything this script started, whatever happens.
PIDS=()
CLEANUP=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for c in "${CLEANUP[@]}"; do $c || true; done
}
trap cleanup EXIT

need=$((BYTES / 1024 / 1024 * 3 + 1024))
avail=$(df -Pm "$WORK" | awk 'NR==2 { print $4 }')
if [ ! -f "$BIG" ]; then need=$((need + SIZE_MIB)); fi
if [ "$avail" -lt "$need" ]; then
	echo "large-file: $WORK has $avail MiB free, the run needs about $need MiB; set SIZE_MIB lower" >&2
	exit 1
fi

log "building ronghe and cryptorate"
(cd "$ROOT" && go build -o "$WORK/ronghe" ./cmd/ronghe && go build -o "$WORK/cryptorate" ./bench/cmd/cryptorate)
RONGHE="$WORK/ronghe"

if [ ! -f "$BIG" ] || [ "$(stat -c %s "$BIG")" -ne "$BYTES" ]; then
	log "making $BIG ($SIZE_MIB MiB of random bytes)"
	# openssl dies of SIGPIPE when head has enough: check the size instead.
	{ openssl enc -aes-128-ctr -nosalt -pass pass:ronghe-bench -pbkdf2 </dev/zero 2>/dev/null || true; } | head -c "$BYTES" >"$BIG.tmp"
	[ "$(stat -c %s "$BIG.tmp")" -eq "$BYTES" ] || { echo "could not make $BIG" >&2; exit 1; }
	mv "$BIG.tmp" "$BIG"
fi
# Every contender reads the file from the page cache: warm it once.
cat "$BIG" >/dev/null

# ---------------------------------------------------------------- machine limits
log "one-core crypto rates (Go: gmsm and the standard library)"
CRYPTO=$("$WORK/cryptorate" -rounds 3 -seconds 0.4)
echo "$CRYPTO" >&2
rate_of() { echo "$CRYPTO" | awk -v n="$1" '$1 == n { print $2 }'; }
cpu_of() { echo "$CRYPTO" | awk -v n="$1" '$1 == n { print $3 }'; }
SM3=$(rate_of SM3)
SHA256=$(rate_of SHA-256)
SM4GCM=$(rate_of SM4-GCM)
AES256GCM=$(rate_of AES-256-GCM)

log "one-core crypto rates (openssl speed, 64 KiB blocks)"
ossl() {
	openssl speed -seconds 1 -bytes 65536 -evp "$1" 2>/dev/null | awk -v n="$1" 'tolower($1) == n { v = $NF; sub(/k$/, "", v); printf "%.0f", v / 1000 }'
}
OSSL_SM3=$(ossl sm3)
OSSL_SM4=$(ossl sm4-ctr)
OSSL_SHA=$(ossl sha256)
OSSL_AES=$(ossl aes-256-gcm)
OSSL_AES128=$(ossl aes-128-gcm)

log "durable disk write: dd bs=4M conv=fdatasync"
t0=$(now)
dd if="$BIG" of="$WORK/dd.out" bs=4M conv=fdatasync status=none
t1=$(now)
rm -f "$WORK/dd.out"
DD=$(mbps "$BYTES" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
log "dd: $DD MB/s"

# ---------------------------------------------------------------- sftp peer
SFTP="-"
SFTP_CPU="-"
if [ "${SKIP_SFTP:-0}" != 1 ]; then
	if [ ! -x /usr/sbin/sshd ]; then
		log "installing openssh-server"
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server) >&2
	fi
	d=$(mktemp -d "$WORK/sftp.XXXXXX")
	ssh-keygen -q -t ed25519 -N '' -f "$d/hostkey"
	ssh-keygen -q -t ed25519 -N '' -C "ronghe-bench-$$" -f "$d/clientkey"
	PUBKEY=$(cat "$d/clientkey.pub")
	SFTP_DIR=$d
	# Undo exactly what this section does: stop our sshd, remove exactly the
	# key line we add (everything else in authorized_keys stays), remove the
	# directory. Runs after the put and again, harmlessly, on exit.
	sftp_cleanup() {
		[ -n "${SFTP_DIR:-}" ] || return 0
		if [ -s "$SFTP_DIR/sshd.pid" ]; then kill "$(cat "$SFTP_DIR/sshd.pid")" 2>/dev/null || true; fi
		if [ -n "${PUBKEY:-}" ] && [ -f ~/.ssh/authorized_keys ]; then
			grep -vxF -- "$PUBKEY" ~/.ssh/authorized_keys >"$SFTP_DIR/ak" || true
			cat "$SFTP_DIR/ak" >~/.ssh/authorized_keys
			if [ "${AK_CREATED:-0}" = 1 ] && [ ! -s ~/.ssh/authorized_keys ]; then rm -f ~/.ssh/authorized_keys; fi
		fi
		rm -rf "$SFTP_DIR"
		SFTP_DIR=
	}
	CLEANUP+=(sftp_cleanup)
	mkdir -p ~/.ssh /run/sshd
	chmod 700 ~/.ssh
	AK_CREATED=0
	[ -e ~/.ssh/authorized_keys ] || AK_CREATED=1
	echo "$PUBKEY" >>~/.ssh/authorized_keys
	cat >"$d/sshd_config" <<EOF
Port 2222
ListenAddress 127.0.0.1
HostKey $d/hostkey
PermitRootLogin yes
PasswordAuthentication no
Subsystem sftp internal-sftp
PidFile $d/sshd.pid
EOF
	/usr/sbin/sshd -f "$d/sshd_config"
	for _ in $(seq 50); do [ -s "$d/sshd.pid" ] && break; sleep 0.1; done
	log "sftp put (aes128-gcm) over loopback"
	t0=$(now)
	cstat=$( { /usr/bin/time -f '%U %S' sftp -q -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o Ciphers=aes128-gcm@openssh.com -i "$d/clientkey" -P 2222 -b - root@127.0.0.1 \
		<<<"put $BIG $d/dst.bin" >/dev/null; } 2>&1 | tail -1)
	t1=$(now)
	got=$(stat -c %s "$d/dst.bin")
	# CPU of both ends: the sftp client (with its ssh child) and the sshd
	# listener's reaped children (the session processes).
	sleep 0.5
	SFTP_CPU=$(awk -v c="$cstat" 'BEGIN { split(c, a, " ") } { printf "%.1f", a[1] + a[2] + ($16 + $17) / 100 }' "/proc/$(cat "$d/sshd.pid")/stat")
	sftp_cleanup
	[ "$got" -eq "$BYTES" ] || { echo "sftp wrote $got bytes, not $BYTES" >&2; exit 1; }
	SFTP=$(mbps "$BYTES" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
	log "sftp: $SFTP MB/s"
fi

# ---------------------------------------------------------------- ronghe
# epoch seconds of a slog time=… value (UTC, milliseconds)
logtime() { date -u -d "$(echo "$1" | sed 's/^time=//; s/T/ /; s/Z$//')" +%s.%N; }

declare -A E2E UPL HASH RSS SCPU CCPU PT
run_suite() {
	local s=$1 port=$2
	local dir="$WORK/ronghe-$s"
	rm -rf "$dir"
	mkdir -p "$dir"
	local code
	if [ "$s" = GM ]; then code=BENCHGM0000001; else code=BENCHINTL00001; fi
	local sprof="" cprof=""
	if [ -n "${PROFILE:-}" ]; then
		mkdir -p "$PROFILE"
		sprof="$PROFILE/serve-$s.pprof" cprof="$PROFILE/submit-$s.pprof"
	fi
	RONGHE_CPUPROFILE=$sprof "$RONGHE" serve --data "$dir/data" --listen "127.0.0.1:$port" >"$dir/serve.out" 2>"$dir/serve.log" &
	local spid=$!
	PIDS+=("$spid")
	for _ in $(seq 100); do grep -q "ronghe listening" "$dir/serve.out" 2>/dev/null && break; sleep 0.1; done
	"$RONGHE" admin institution add --data "$dir/data" --code "$code" --name "Bench $s" --suite "$s" \
		--server "https://127.0.0.1:$port" --out "$dir/profile" >/dev/null
	local batch="$dir/${code}_20250101_1"
	mkdir -p "$batch"
	ln "$BIG" "$batch/TXN.csv" 2>/dev/null || cp "$BIG" "$batch/TXN.csv"
	log "ronghe submit ($s, $SIZE_MIB MiB)"
	local t0 t1 cstat
	t0=$(now)
	cstat=$( { RONGHE_CPUPROFILE=$cprof /usr/bin/time -f '%U %S' "$RONGHE" submit --profile "$dir/profile" --json "$batch" >"$dir/submit.json"; } 2>&1 | tail -1)
	t1=$(now)
	grep -q '"receipt_verified": true' "$dir/submit.json" || { echo "submit did not return a verified receipt" >&2; cat "$dir/submit.json" >&2; exit 1; }
	RSS[$s]=$(awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$spid/status")
	SCPU[$s]=$(awk '{ printf "%.1f", ($14 + $15) / 100 }' "/proc/$spid/stat") # assumes USER_HZ=100
	CCPU[$s]=$(echo "$cstat" | awk '{ printf "%.1f", $1 + $2 }')
	kill "$spid"
	wait "$spid" 2>/dev/null || true
	# Phases from the server's request log: the manifest POST ends after the
	# client's hashing pass; the tus creation POST starts the upload; the
	# PATCH ends when the file is sealed, synced, checked and the submission
	# logged (the receipt is in that response's wake).
	local tman tcreate tpatch
	tman=$(logtime "$(grep 'path=/v1/submissions ' "$dir/serve.log" | grep -m1 'method=POST' | awk '{ print $1 }')")
	tcreate=$(logtime "$(grep 'path=/v1/uploads/ ' "$dir/serve.log" | grep -m1 'method=POST' | awk '{ print $1 }')")
	tpatch=$(logtime "$(grep 'method=PATCH' "$dir/serve.log" | tail -1 | awk '{ print $1 }')")
	# The upload store's own account of the PATCH (exchange/upload: body and
	# free-buffer waits of the request goroutine, busy time of each stage).
	PT[$s]=$(grep 'msg="upload: patch timings"' "$dir/serve.log" | tail -1 | grep -o ' ms=.*' || true)
	E2E[$s]=$(mbps "$BYTES" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
	HASH[$s]=$(mbps "$BYTES" "$(awk -v a="$t0" -v b="$tman" 'BEGIN { print b - a }')")
	UPL[$s]=$(mbps "$BYTES" "$(awk -v a="$tcreate" -v b="$tpatch" 'BEGIN { print b - a }')")
	log "ronghe $s: end-to-end ${E2E[$s]} MB/s, client hash pass ${HASH[$s]} MB/s, upload ${UPL[$s]} MB/s, server peak RSS ${RSS[$s]} MB"
	rm -rf "$dir/data" "$batch"
}
p=$PORT
for s in $SUITES; do
	run_suite "$s" "$p"
	p=$((p + 1))
done

# ---------------------------------------------------------------- report
v() { local x=${1:-}; echo "${x:--}"; }
goal() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == "") print "-"; else if (a + 0 >= b + 0) print "met"; else print "NOT met" }'; }
echo
echo "Large-file submission, $SIZE_MIB MiB, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '%-40s %10s\n' "machine / peer" "MB/s"
printf '%-40s %10s   (CPU, both ends: %s s)\n' "sftp put, aes128-gcm, loopback (peer)" "$SFTP" "$SFTP_CPU"
printf '%-40s %10s\n' "dd bs=4M conv=fdatasync" "$DD"
# Go's wall-clock rate is the goal's yardstick; the rate per CPU-second of
# the measuring thread is what an unshared core does (their ratio is the
# share of a core the thread got: well below 1 on a loaded machine).
printf '%-40s %10s %10s %10s\n' "one core" "Go" "Go CPU-s" "openssl"
printf '%-40s %10s %10s %10s\n' "  SM3" "$SM3" "$(cpu_of SM3)" "$OSSL_SM3"
printf '%-40s %10s %10s %10s\n' "  SHA-256" "$SHA256" "$(cpu_of SHA-256)" "$OSSL_SHA"
printf '%-40s %10s %10s %10s\n' "  SM4-GCM (openssl: SM4-CTR)" "$SM4GCM" "$(cpu_of SM4-GCM)" "$OSSL_SM4"
printf '%-40s %10s %10s %10s\n' "  AES-256-GCM" "$AES256GCM" "$(cpu_of AES-256-GCM)" "$OSSL_AES"
printf '%-40s %10s %10s %10s\n' "  AES-128-GCM" "$(rate_of AES-128-GCM)" "$(cpu_of AES-128-GCM)" "$OSSL_AES128"
echo
printf '%-8s %12s %12s %12s %10s %10s %10s\n' suite "end-to-end" "upload" "client hash" "peak RSS" "server CPU" "client CPU"
printf '%-8s %12s %12s %12s %10s %10s %10s\n' "" "MB/s" "MB/s" "MB/s" "MB" "s" "s"
for s in $SUITES; do
	printf '%-8s %12s %12s %12s %10s %10s %10s\n' "$s" "$(v "${E2E[$s]:-}")" "$(v "${UPL[$s]:-}")" "$(v "${HASH[$s]:-}")" "$(v "${RSS[$s]:-}")" "$(v "${SCPU[$s]:-}")" "$(v "${CCPU[$s]:-}")"
done
echo
echo "Where the PATCH's time went (server log; ms; body = waiting for the request body, free_wait = for a free"
echo "buffer, i.e. the stages behind were slower; hash, seal (summed over sealers), write, flush = busy times;"
echo "commit = the final fsync and state):"
for s in $SUITES; do
	printf '%-8s %s\n' "$s" "$(v "${PT[$s]:-}")"
done
echo
echo "Goals (the goal compares the upload phase: manifest signed, file sent, sealed, synced, checked, logged;"
echo "end-to-end adds the client's own hashing pass, which must precede the signed manifest):"
printf '%-44s %10s %10s %8s %10s\n' goal "ours" "target" ratio "status"
if [[ " $SUITES " == *" INTL "* ]]; then
	t=$(awk -v x="$SFTP" 'BEGIN { if (x == "-") print "-"; else printf "%.0f", 1.3 * x }')
	printf '%-44s %10s %10s %8s %10s\n' "INTL upload >= 1.3 x sftp" "${UPL[INTL]}" "$t" "$(ratio "${UPL[INTL]}" "$SFTP")" "$(goal "${UPL[INTL]}" "$t")"
	printf '%-44s %10s %10s %8s %10s\n' "INTL end-to-end >= 1.3 x sftp" "${E2E[INTL]}" "$t" "$(ratio "${E2E[INTL]}" "$SFTP")" "$(goal "${E2E[INTL]}" "$t")"
	t=$(awk -v x="$DD" 'BEGIN { printf "%.0f", 0.8 * x }')
	printf '%-44s %10s %10s %8s %10s\n' "INTL upload >= 80% of dd fdatasync" "${UPL[INTL]}" "$t" "$(ratio "${UPL[INTL]}" "$DD")" "$(goal "${UPL[INTL]}" "$t")"
	printf '%-44s %10s %10s %8s %10s\n' "INTL end-to-end >= 80% of dd fdatasync" "${E2E[INTL]}" "$t" "$(ratio "${E2E[INTL]}" "$DD")" "$(goal "${E2E[INTL]}" "$t")"
fi
if [[ " $SUITES " == *" GM "* ]]; then
	t=$(awk -v x="$SM3" 'BEGIN { printf "%.0f", 0.75 * x }')
	printf '%-44s %10s %10s %8s %10s\n' "GM upload >= 75% of one-core SM3" "${UPL[GM]}" "$t" "$(ratio "${UPL[GM]}" "$SM3")" "$(goal "${UPL[GM]}" "$t")"
	printf '%-44s %10s %10s %8s %10s\n' "GM end-to-end >= 75% of one-core SM3" "${E2E[GM]}" "$t" "$(ratio "${E2E[GM]}" "$SM3")" "$(goal "${E2E[GM]}" "$t")"
	# The same goal against an unshared core (SM3 per CPU-second): what the
	# goal asks of an idle machine.
	c=$(cpu_of SM3)
	if [ -n "$c" ] && [ "$c" != "-" ]; then
		t=$(awk -v x="$c" 'BEGIN { printf "%.0f", 0.75 * x }')
		printf '%-44s %10s %10s %8s %10s\n' "GM upload >= 75% of SM3 per CPU-second" "${UPL[GM]}" "$t" "$(ratio "${UPL[GM]}" "$c")" "$(goal "${UPL[GM]}" "$t")"
	fi
fi
for s in $SUITES; do
	printf '%-44s %10s %10s %8s %10s\n' "$s server peak RSS < 200 MB" "${RSS[$s]}" "200" "-" "$(awk -v a="${RSS[$s]}" 'BEGIN { print (a + 0 < 200) ? "met" : "NOT met" }')"
done
