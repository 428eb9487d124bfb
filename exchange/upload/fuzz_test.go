package upload

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/envelope"
	"github.com/ronghe/ronghe/suite"
)

// FuzzRecover damages an upload's files the ways a crash or a bad disk can —
// state rolled back to an earlier commit, data file cut anywhere, one byte
// changed anywhere — and checks that GetUpload either refuses (only when the
// header or a complete upload is damaged) or yields an offset from which
// resuming produces exactly the original content and digest.
func FuzzRecover(f *testing.F) {
	f.Add(uint8(2), uint32(0), uint32(0), byte(0), false)
	f.Add(uint8(1), uint32(900), uint32(0), byte(0), true)
	f.Add(uint8(0), uint32(1<<31), uint32(500), byte(1), false)
	f.Add(uint8(3), uint32(2000), uint32(1999), byte(0x80), true)
	const cs = envelope.MinChunkSize
	kek := newKEK(f)
	f.Fuzz(func(t *testing.T, early uint8, cut, flipAt uint32, flip byte, rollBack bool) {
		store := newStore(t, kek, func(c *Config) { c.ChunkSize = cs })
		ctx := tenantCtx(tenantGM)
		plain := bytes.Repeat([]byte("0123456789abcdefghij"), 6*cs/20+3) // 6 chunks and a bit
		u, err := store.NewUpload(ctx, fileInfo(int64(len(plain)), ronghe.SuiteGM))
		if err != nil {
			t.Fatal(err)
		}
		info, _ := u.GetInfo(ctx)
		id := info.ID
		k := int64(early%7) * cs
		if k > 0 {
			if n, err := u.WriteChunk(ctx, 0, bytes.NewReader(plain[:k])); err != nil || n != k {
				t.Fatalf("first write %d, %v", n, err)
			}
		}
		saved, err := os.ReadFile(store.infoPath(id))
		if err != nil {
			t.Fatal(err)
		}
		if n, err := u.WriteChunk(ctx, k, bytes.NewReader(plain[k:])); err != nil || k+n != int64(len(plain)) {
			t.Fatalf("second write %d, %v", n, err)
		}
		bin := store.binPath(id)
		full, _ := os.ReadFile(bin)
		if rollBack {
			os.WriteFile(store.infoPath(id), saved, 0o600)
		}
		damaged := full[:int(cut)%(len(full)+1)]
		if len(damaged) == 0 {
			damaged = full // cut 0 means "not cut"
		}
		damaged = bytes.Clone(damaged)
		// Data covered by the state is trusted without re-reading; damage
		// there is only found when reading (as EINTEGRITY), never missed.
		committed := len(full)
		if rollBack {
			committed = len(full) - (len(plain) - int(k)) - (len(plain)-int(k)+cs-1)/cs*suite.TagSize
		}
		damagedCommitted := false
		if flip != 0 && len(damaged) > 0 {
			at := int(flipAt) % len(damaged)
			damaged[at] ^= flip
			damagedCommitted = at < committed
		}
		os.WriteFile(bin, damaged, 0o600)

		u2, err := store.GetUpload(ctx, id)
		if err != nil {
			var he handler.Error
			if !errors.As(err, &he) || he.HTTPResponse.StatusCode != 500 {
				t.Fatalf("GetUpload: %v", err)
			}
			// Refusing is right only if the header is damaged or the
			// upload claims to be complete.
			st, _ := store.readState(id)
			hdrDamaged := len(damaged) < len(st.Header) || !bytes.Equal(damaged[:len(st.Header)], st.Header)
			if !hdrDamaged && !st.Complete {
				t.Fatalf("GetUpload refused an intact header: %v", err)
			}
			return
		}
		info, _ = u2.GetInfo(ctx)
		if info.Offset != int64(len(plain)) && info.Offset%cs != 0 {
			t.Fatalf("offset %d is not at a chunk boundary", info.Offset)
		}
		if info.Offset < int64(len(plain)) {
			n, err := u2.WriteChunk(ctx, info.Offset, bytes.NewReader(plain[info.Offset:]))
			if err != nil || info.Offset+n != int64(len(plain)) {
				t.Fatalf("resume from %d: %d, %v", info.Offset, n, err)
			}
		}
		res, err := store.Completed(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		rc, err := store.Reader(ctx, id)
		if err == nil {
			got, err = io.ReadAll(rc)
			rc.Close()
		}
		if err != nil {
			if ronghe.ErrorCode(err) == ronghe.EINTEGRITY && damagedCommitted {
				return
			}
			t.Fatalf("read back: %v", err)
		}
		if !bytes.Equal(got, plain) {
			t.Fatal("content differs after recovery")
		}
		if !bytes.Equal(res.Digest, suite.Digest(ronghe.SuiteGM, plain)) {
			t.Fatal("digest differs after recovery")
		}
	})
}
