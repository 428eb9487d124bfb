// Command cryptorate measures the one-core throughput of the primitives that
// bound a large-file submission: the suites' digests (SM3, SHA-256) and
// AEADs (SM4-GCM, AES-256-GCM, plus AES-128-GCM, the cipher of the sftp
// peer), each on one goroutine over 1 MiB buffers, the way the upload store
// hashes and seals 64 KiB chunks.
//
//	go run ./bench/cmd/cryptorate [-seconds 1] [-json]
//
// It prints MB/s (10^6 bytes per second) per primitive. The figure is the
// median of -rounds rounds of -seconds each, so a noisy neighbour on a shared
// machine moves it less than a single long run. A second column divides by
// the CPU time of the measuring thread instead of the wall time (Linux; "-"
// elsewhere): what one core does when it is not shared, which on a loaded
// machine the wall-clock figure understates.
package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"hash"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/suite"
)

type result struct {
	Name    string  `json:"name"`
	MBps    float64 `json:"mb_per_s"`
	CPUMBps float64 `json:"mb_per_cpu_s,omitempty"` // bytes per CPU-second of the thread
}

// measure is the median wall-clock and CPU-time rate of rounds of op.
func measure(rounds int, d time.Duration, op func() int) result {
	var wall, cpu []float64
	for range max(rounds, 1) {
		w, c := rate(d, op)
		wall, cpu = append(wall, w), append(cpu, c)
	}
	return result{MBps: median(wall), CPUMBps: median(cpu)}
}

func main() {
	seconds := flag.Float64("seconds", 0.5, "duration of one round per primitive")
	rounds := flag.Int("rounds", 5, "rounds per primitive; the median is printed")
	chunk := flag.Int("chunk", 64<<10, "bytes per call (the upload store's chunk is 64 KiB)")
	asJSON := flag.Bool("json", false, "print JSON instead of a table")
	flag.Parse()
	runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), 1))
	runtime.LockOSThread() // for the thread's CPU time

	buf := make([]byte, 1<<20)
	rand.Read(buf)
	d := time.Duration(*seconds * float64(time.Second))

	var out []result
	hashRate := func(name string, newHash func() hash.Hash) {
		h := newHash()
		r := measure(*rounds, d, func() int {
			for off := 0; off < len(buf); off += *chunk {
				h.Write(buf[off:min(off+*chunk, len(buf))])
			}
			return len(buf)
		})
		r.Name = name
		out = append(out, r)
	}
	aeadRate := func(name string, a cipher.AEAD) {
		nonce := make([]byte, a.NonceSize())
		dst := make([]byte, 0, *chunk+a.Overhead())
		r := measure(*rounds, d, func() int {
			for off := 0; off < len(buf); off += *chunk {
				dst = a.Seal(dst[:0], nonce, buf[off:min(off+*chunk, len(buf))], nil)
			}
			return len(buf)
		})
		r.Name = name
		out = append(out, r)
	}

	hashRate("SM3", func() hash.Hash { return suite.NewHash(ronghe.SuiteGM) })
	hashRate("SHA-256", func() hash.Hash { return suite.NewHash(ronghe.SuiteINTL) })
	for _, s := range []struct {
		name string
		st   ronghe.Suite
	}{{"SM4-GCM", ronghe.SuiteGM}, {"AES-256-GCM", ronghe.SuiteINTL}} {
		key := make([]byte, suite.KeySize(s.st))
		rand.Read(key)
		a, err := suite.NewAEAD(s.st, key)
		if err != nil {
			fail(err)
		}
		aeadRate(s.name, a)
	}
	key := make([]byte, 16)
	rand.Read(key)
	blk, err := aes.NewCipher(key)
	if err != nil {
		fail(err)
	}
	gcm, err := cipher.NewGCM(blk)
	if err != nil {
		fail(err)
	}
	aeadRate("AES-128-GCM", gcm)

	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		if err := enc.Encode(out); err != nil {
			fail(err)
		}
		return
	}
	fmt.Printf("%-12s %10s %12s   (one core, %d KiB calls, median of %d)\n", "primitive", "MB/s", "MB/CPU-s", *chunk>>10, *rounds)
	for _, r := range out {
		c := "-"
		if r.CPUMBps > 0 {
			c = fmt.Sprintf("%.0f", r.CPUMBps)
		}
		fmt.Printf("%-12s %10.0f %12s\n", r.Name, r.MBps, c)
	}
}

// rate calls op until d has passed and returns MB/s over the wall time and
// over the thread's CPU time (0 where threadCPU is unknown).
func rate(d time.Duration, op func() int) (wall, cpu float64) {
	op() // warm up
	var n int64
	start, cpu0 := time.Now(), threadCPU()
	for time.Since(start) < d {
		n += int64(op())
	}
	el, used := time.Since(start), threadCPU()-cpu0
	wall = float64(n) / el.Seconds() / 1e6
	if used > 0 {
		cpu = float64(n) / used.Seconds() / 1e6
	}
	return wall, cpu
}

func median(v []float64) float64 {
	slices.Sort(v)
	return v[len(v)/2]
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "cryptorate:", err)
	os.Exit(1)
}
