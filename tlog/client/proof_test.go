package client_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/tlog/client"
)

// A reference implementation of RFC 6962 section 2.1, written from the RFC's
// recursive definitions, independent of the merkle library under test.

func largestPow2Below(n int) int {
	k := 1
	for k*2 < n {
		k *= 2
	}
	return k
}

func hashChildren(l, r []byte) []byte {
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(l)
	h.Write(r)
	return h.Sum(nil)
}

func refRoot(d [][]byte) []byte {
	switch len(d) {
	case 0:
		s := sha256.Sum256(nil)
		return s[:]
	case 1:
		return client.LeafHash(d[0])
	}
	k := largestPow2Below(len(d))
	return hashChildren(refRoot(d[:k]), refRoot(d[k:]))
}

func refInclusion(d [][]byte, m int) [][]byte {
	if len(d) <= 1 {
		return nil
	}
	k := largestPow2Below(len(d))
	if m < k {
		return append(refInclusion(d[:k], m), refRoot(d[k:]))
	}
	return append(refInclusion(d[k:], m-k), refRoot(d[:k]))
}

func refConsistency(d [][]byte, m int) [][]byte { return refSubproof(d, m, true) }

func refSubproof(d [][]byte, m int, b bool) [][]byte {
	n := len(d)
	if m == n {
		if b {
			return nil
		}
		return [][]byte{refRoot(d)}
	}
	k := largestPow2Below(n)
	if m <= k {
		return append(refSubproof(d[:k], m, b), refRoot(d[k:]))
	}
	return append(refSubproof(d[k:], m-k, false), refRoot(d[:k]))
}

func leavesN(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(fmt.Sprintf("leaf %d", i))
	}
	return out
}

func cpOf(d [][]byte) client.Checkpoint {
	return client.Checkpoint{Origin: origin, Size: uint64(len(d)), Hash: refRoot(d)}
}

func flip(p [][]byte, i int) [][]byte {
	out := make([][]byte, len(p))
	for j := range p {
		out[j] = bytes.Clone(p[j])
	}
	out[i][i%32] ^= 0x40
	return out
}

func TestVerifyInclusion(t *testing.T) {
	all := leavesN(70)
	for n := 1; n <= len(all); n++ {
		d := all[:n]
		cp := cpOf(d)
		for i := 0; i < n; i++ {
			p := refInclusion(d, i)
			if err := client.VerifyInclusion(d[i], uint64(i), p, cp); err != nil {
				t.Fatalf("n=%d i=%d: %v", n, i, err)
			}
			if err := client.VerifyInclusion([]byte("other"), uint64(i), p, cp); ronghe.ErrorCode(err) != ronghe.EINTEGRITY {
				t.Fatalf("n=%d i=%d: other leaf: %v", n, i, err)
			}
			for j := range p {
				if err := client.VerifyInclusion(d[i], uint64(i), flip(p, j), cp); ronghe.ErrorCode(err) != ronghe.EINTEGRITY {
					t.Fatalf("n=%d i=%d: flipped proof hash %d: %v", n, i, j, err)
				}
			}
			if n > 1 {
				if err := client.VerifyInclusion(d[i], uint64((i+1)%n), p, cp); err == nil {
					t.Fatalf("n=%d i=%d: proof verified at another index", n, i)
				}
				if err := client.VerifyInclusion(d[i], uint64(i), p[:len(p)-1], cp); err == nil {
					t.Fatalf("n=%d i=%d: truncated proof verified", n, i)
				}
			}
		}
	}
}

func TestVerifyConsistency(t *testing.T) {
	all := leavesN(40)
	for n := 1; n <= len(all); n++ {
		for m := 0; m <= n; m++ {
			older, newer := cpOf(all[:m]), cpOf(all[:n])
			var p [][]byte
			if m > 0 { // SUBPROOF is defined for 0 < m <= n
				p = refConsistency(all[:n], m)
			}
			if err := client.VerifyConsistency(older, newer, p); err != nil {
				t.Fatalf("m=%d n=%d: %v", m, n, err)
			}
			for j := range p {
				if err := client.VerifyConsistency(older, newer, flip(p, j)); ronghe.ErrorCode(err) != ronghe.EINTEGRITY {
					t.Fatalf("m=%d n=%d: flipped hash %d: %v", m, n, j, err)
				}
			}
			if m > 0 && m < n {
				forged := cpOf(append(append([][]byte{}, all[:m-1]...), []byte("forged")))
				if err := client.VerifyConsistency(forged, newer, p); ronghe.ErrorCode(err) != ronghe.EINTEGRITY {
					t.Fatalf("m=%d n=%d: forged old tree: %v", m, n, err)
				}
			}
		}
	}
}

func TestProofArgumentErrors(t *testing.T) {
	d := leavesN(5)
	cp := cpOf(d)
	p := refInclusion(d, 1)
	short := client.Checkpoint{Origin: origin, Size: 5, Hash: cp.Hash[:31]}
	tests := []struct {
		name string
		err  error
		code string
	}{
		{"index at size", client.VerifyInclusion(d[1], 5, p, cp), ronghe.EINVALID},
		{"short root", client.VerifyInclusion(d[1], 1, p, short), ronghe.EINVALID},
		{"short proof hash", client.VerifyInclusion(d[1], 1, [][]byte{p[0][:31], p[1], p[2]}, cp), ronghe.EINVALID},
		{"proof too long", client.VerifyInclusion(d[1], 1, make([][]byte, 66), cp), ronghe.EINVALID},
		{"leaf hash length", client.VerifyInclusionHash([]byte("x"), 1, p, cp), ronghe.EINVALID},
		{"older larger", client.VerifyConsistency(cp, cpOf(d[:3]), nil), ronghe.EINVALID},
		{"different origins", client.VerifyConsistency(client.Checkpoint{Origin: "x", Size: 3, Hash: refRoot(d[:3])}, cp, refConsistency(d, 3)), ronghe.EINVALID},
		{"empty tree with a root", client.VerifyConsistency(client.Checkpoint{Origin: origin, Size: 0, Hash: cp.Hash}, cp, nil), ronghe.EINTEGRITY},
		{"same size, other root", client.VerifyConsistency(cpOf(leavesN(6)[1:]), cp, nil), ronghe.EINTEGRITY},
		{"same size, proof given", client.VerifyConsistency(cp, cp, p), ronghe.EINTEGRITY},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ronghe.ErrorCode(tc.err); got != tc.code {
				t.Fatalf("error %v (code %q), want %q", tc.err, got, tc.code)
			}
		})
	}
}
