package tlog

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/tlog/client"
)

// appendRange appends events first..first+n-1 from 16 goroutines and returns
// the leaf logged at each index.
func appendRange(t *testing.T, l *Log, first, n int) map[uint64][]byte {
	t.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	got := make(map[uint64][]byte, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for i := first; i < first+n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			leaf := testEvent(i).Leaf()
			idx, err := l.Append(ctx, leaf)
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if _, dup := got[idx]; dup {
				errs <- errors.New("index assigned twice")
			}
			got[idx] = leaf
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Append: %v", err)
	}
	return got
}

// awaitAll waits for a checkpoint covering every index in leaves and verifies it.
func awaitAll(t *testing.T, l *Log, v *client.LogVerifier, leaves map[uint64][]byte) (client.Checkpoint, []byte) {
	t.Helper()
	var maxIdx uint64
	for i := range leaves {
		maxIdx = max(maxIdx, i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	raw, size, err := l.AwaitCheckpoint(ctx, maxIdx)
	if err != nil {
		t.Fatalf("AwaitCheckpoint(%d): %v", maxIdx, err)
	}
	cp, err := v.VerifyCheckpoint(raw)
	if err != nil {
		t.Fatalf("VerifyCheckpoint: %v\n%s", err, raw)
	}
	if cp.Size != size || size <= maxIdx {
		t.Fatalf("checkpoint size %d, AwaitCheckpoint size %d, max index %d", cp.Size, size, maxIdx)
	}
	return cp, raw
}

func TestAppendCheckpointProofs(t *testing.T) {
	k := newTestKeys(t)
	l := openTestLog(t, k, t.TempDir())
	v := k.verifier(t)
	ctx := context.Background()

	// Phases of different sizes so that checkpoints fall inside tiles, on
	// a tile boundary (256) and across bundles.
	all := map[uint64][]byte{}
	var cps []client.Checkpoint
	first := 0
	for _, n := range []int{1, 6, 249, 300, 100} {
		leaves := appendRange(t, l, first, n)
		first += n
		for i, leaf := range leaves {
			all[i] = leaf
		}
		cp, _ := awaitAll(t, l, v, all)
		cps = append(cps, cp)
	}
	if len(all) != first {
		t.Fatalf("%d distinct indices for %d appends", len(all), first)
	}
	for i := uint64(0); i < uint64(first); i++ {
		if _, ok := all[i]; !ok {
			t.Fatalf("index %d never assigned: indices are not contiguous", i)
		}
	}

	latest := cps[len(cps)-1]
	for i := uint64(0); i < latest.Size; i++ {
		p, err := l.InclusionProof(ctx, i, latest.Size)
		if err != nil {
			t.Fatalf("InclusionProof(%d, %d): %v", i, latest.Size, err)
		}
		if err := client.VerifyInclusion(all[i], i, p, latest); err != nil {
			t.Fatalf("VerifyInclusion(%d): %v", i, err)
		}
		// The proof must not verify for another leaf or position.
		if err := client.VerifyInclusion(all[(i+1)%latest.Size], i, p, latest); err == nil && latest.Size > 1 {
			t.Fatalf("proof for %d verified another leaf", i)
		}
		stored, err := l.Leaf(ctx, i)
		if err != nil {
			t.Fatalf("Leaf(%d): %v", i, err)
		}
		if !bytes.Equal(stored, all[i]) {
			t.Fatalf("Leaf(%d) = %q, want %q", i, stored, all[i])
		}
	}

	// Consistency between every pair of checkpoints, in both proof directions.
	for a := range cps {
		for b := a; b < len(cps); b++ {
			p, err := l.ConsistencyProof(ctx, cps[a].Size, cps[b].Size)
			if err != nil {
				t.Fatalf("ConsistencyProof(%d, %d): %v", cps[a].Size, cps[b].Size, err)
			}
			if err := client.VerifyConsistency(cps[a], cps[b], p); err != nil {
				t.Fatalf("VerifyConsistency(%d, %d): %v", cps[a].Size, cps[b].Size, err)
			}
			if cps[a].Size < cps[b].Size && cps[a].Size > 0 {
				forged := cps[a]
				forged.Hash = bytes.Clone(cps[a].Hash)
				forged.Hash[0] ^= 1
				if err := client.VerifyConsistency(forged, cps[b], p); ronghe.ErrorCode(err) != ronghe.EINTEGRITY {
					t.Fatalf("forged old root: got %v, want EINTEGRITY", err)
				}
			}
		}
	}

	// The published checkpoint catches up with the receipt checkpoints and is
	// consistent with them.
	deadline := time.Now().Add(5 * time.Second)
	for {
		raw, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := v.VerifyCheckpoint(raw)
		if err != nil {
			t.Fatalf("published checkpoint: %v", err)
		}
		if pub.Size == latest.Size {
			if !bytes.Equal(pub.Hash, latest.Hash) {
				t.Fatalf("published root %x differs from receipt root %x at size %d", pub.Hash, latest.Hash, pub.Size)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("published checkpoint stuck at %d, want %d", pub.Size, latest.Size)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestInvalidRequests(t *testing.T) {
	k := newTestKeys(t)
	l := openTestLog(t, k, t.TempDir())
	ctx := context.Background()
	appendRange(t, l, 0, 3)
	if _, _, err := l.AwaitCheckpoint(ctx, 2); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  func() error
		code string
	}{
		{"append non-event", func() error { _, err := l.Append(ctx, []byte("secret payload")); return err }, ronghe.EINVALID},
		{"append invalid event", func() error { _, err := l.AppendEvent(ctx, Event{Kind: "nope"}); return err }, ronghe.EINVALID},
		{"await unknown index", func() error { _, _, err := l.AwaitCheckpoint(ctx, 1000); return err }, ronghe.ENOTFOUND},
		{"inclusion index >= size", func() error { _, err := l.InclusionProof(ctx, 3, 3); return err }, ronghe.EINVALID},
		{"inclusion unsigned size", func() error { _, err := l.InclusionProof(ctx, 0, 50); return err }, ronghe.ENOTFOUND},
		{"consistency reversed", func() error { _, err := l.ConsistencyProof(ctx, 3, 1); return err }, ronghe.EINVALID},
		{"consistency unsigned size", func() error { _, err := l.ConsistencyProof(ctx, 1, 50); return err }, ronghe.ENOTFOUND},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ronghe.ErrorCode(tc.run()); got != tc.code {
				t.Fatalf("error code %q, want %q", got, tc.code)
			}
		})
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.AppendEvent(cctx, testEvent(99)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with cancelled context: %v", err)
	}
}

func TestCheckpointSignatures(t *testing.T) {
	k := newTestKeys(t)
	l := openTestLog(t, k, t.TempDir())
	v := k.verifier(t)
	leaves := appendRange(t, l, 0, 10)
	_, raw := awaitAll(t, l, v, leaves)

	// Split the note into its body and its two signature lines.
	i := bytes.Index(raw, []byte("\n\n"))
	body, sigs := raw[:i+2], bytes.Split(bytes.TrimSuffix(raw[i+2:], []byte("\n")), []byte("\n"))
	if len(sigs) != 2 {
		t.Fatalf("checkpoint has %d signature lines, want 2:\n%s", len(sigs), raw)
	}
	edV, smV := l.VerifierKeys()
	edOnly, err := client.NewEd25519Verifier(edV)
	if err != nil {
		t.Fatal(err)
	}
	var edLine, smLine []byte
	for _, s := range sigs {
		if bytes.Contains(s, []byte(" ")) && sigKeyHash(t, s) == edOnly.KeyHash() {
			edLine = s
		} else {
			smLine = s
		}
	}
	if edLine == nil || smLine == nil {
		t.Fatalf("cannot tell the signatures apart:\n%s", raw)
	}
	if _, err := client.NewSM2Verifier(smV); err != nil {
		t.Fatal(err)
	}

	join := func(lines ...[]byte) []byte {
		out := bytes.Clone(body)
		for _, l := range lines {
			out = append(out, l...)
			out = append(out, '\n')
		}
		return out
	}
	tests := []struct {
		name string
		note []byte
		ok   bool
	}{
		{"both signatures", join(edLine, smLine), true},
		{"signature order swapped", join(smLine, edLine), true},
		{"Ed25519 tampered", join(tamperSig(t, edLine), smLine), false},
		{"SM2 tampered", join(edLine, tamperSig(t, smLine)), false},
		{"Ed25519 missing", join(smLine), false},
		{"SM2 missing", join(edLine), false},
		{"body tampered", append([]byte("x"), join(edLine, smLine)...), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.VerifyCheckpoint(tc.note)
			if tc.ok && err != nil {
				t.Fatalf("VerifyCheckpoint: %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatalf("VerifyCheckpoint accepted:\n%s", tc.note)
			}
		})
	}

	// A verifier holding other keys rejects the genuine checkpoint.
	other := newTestKeys(t).verifier(t)
	if _, err := other.VerifyCheckpoint(raw); ronghe.ErrorCode(err) != ronghe.EINTEGRITY {
		t.Fatalf("foreign keys: got %v, want EINTEGRITY", err)
	}
}

func TestReopenContinues(t *testing.T) {
	k := newTestKeys(t)
	dir := t.TempDir()
	v := k.verifier(t)
	ctx := context.Background()

	l1, err := Open(ctx, k.config(dir))
	if err != nil {
		t.Fatal(err)
	}
	first := appendRange(t, l1, 0, 300)
	old, _ := awaitAll(t, l1, v, first)
	if err := l1.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := l1.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := l1.AppendEvent(ctx, testEvent(1)); ronghe.ErrorCode(err) != ronghe.EUNAVAILABLE {
		t.Fatalf("Append after Close: %v", err)
	}
	// Close waits for a published checkpoint covering every append.
	raw, err := os.ReadFile(filepath.Join(dir, layout.CheckpointPath))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := v.VerifyCheckpoint(raw)
	if err != nil {
		t.Fatal(err)
	}
	if pub.Size != 300 {
		t.Fatalf("published size after Close %d, want 300", pub.Size)
	}

	l2 := openTestLog(t, k, dir)
	second := appendRange(t, l2, 300, 50)
	for idx := range second {
		if idx < 300 || idx >= 350 {
			t.Fatalf("reopened log assigned index %d, want [300, 350)", idx)
		}
	}
	for i, leaf := range first {
		second[i] = leaf
	}
	cur, _ := awaitAll(t, l2, v, second)
	p, err := l2.ConsistencyProof(ctx, old.Size, cur.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.VerifyConsistency(old, cur, p); err != nil {
		t.Fatalf("consistency across reopen: %v", err)
	}
	for _, i := range []uint64{0, 255, 299, 300, 349} {
		p, err := l2.InclusionProof(ctx, i, cur.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := client.VerifyInclusion(second[i], i, p, cur); err != nil {
			t.Fatalf("inclusion of %d after reopen: %v", i, err)
		}
	}
}

func TestSingleWriter(t *testing.T) {
	k := newTestKeys(t)
	dir := t.TempDir()
	l := openTestLog(t, k, dir)

	_, err := Open(context.Background(), k.config(dir))
	if ronghe.ErrorCode(err) != ronghe.ECONFLICT {
		t.Fatalf("second Open in process: got %v, want ECONFLICT", err)
	}

	// Another process gets the same clear error.
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "TLOG_LOCK_HELPER_DIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper process: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("open error code: conflict")) || !bytes.Contains(out, []byte("already open for writing")) {
		t.Fatalf("helper process output lacks the conflict error:\n%s", out)
	}

	// The log still works, and after Close another writer may open it.
	appendRange(t, l, 0, 5)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := openTestLog(t, k, dir)
	got := appendRange(t, l2, 5, 1)
	if _, ok := got[5]; !ok {
		t.Fatalf("after handover got indices %v, want 5", got)
	}
}

// TestLockHelperProcess is run by TestSingleWriter in a child process.
func TestLockHelperProcess(t *testing.T) {
	dir := os.Getenv("TLOG_LOCK_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process only")
	}
	_, err := Open(context.Background(), newTestKeys(t).config(dir))
	t.Logf("open error code: %s", ronghe.ErrorCode(err))
	t.Logf("open error: %v", err)
}

func TestOpenRejects(t *testing.T) {
	k := newTestKeys(t)
	dir := t.TempDir()
	l := openTestLog(t, k, dir)
	appendRange(t, l, 0, 2)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	wrongOrigin := k.config(dir)
	wrongOrigin.Origin = "other.example/log"
	if _, err := Open(ctx, wrongOrigin); ronghe.ErrorCode(err) != ronghe.ECONFLICT {
		t.Fatalf("other origin: got %v, want ECONFLICT", err)
	}
	// Keys that did not sign the existing checkpoint are refused.
	if _, err := Open(ctx, newTestKeys(t).config(dir)); ronghe.ErrorCode(err) != ronghe.EINTEGRITY {
		t.Fatalf("other keys: got %v, want EINTEGRITY", err)
	}
	bad := []Config{
		{Origin: testOrigin, Ed25519: k.ed, SM2: k.sm},
		{Dir: t.TempDir(), Origin: "has space", Ed25519: k.ed, SM2: k.sm},
		{Dir: t.TempDir(), Origin: testOrigin, SM2: k.sm},
		{Dir: t.TempDir(), Origin: testOrigin, Ed25519: k.ed},
		{Dir: t.TempDir(), Origin: testOrigin, Ed25519: k.ed, SM2: k.sm, CheckpointInterval: time.Millisecond},
	}
	for i, c := range bad {
		if _, err := Open(ctx, c); ronghe.ErrorCode(err) != ronghe.EINVALID {
			t.Errorf("config %d: got %v, want EINVALID", i, err)
		}
	}
}

func TestAwaitPublished(t *testing.T) {
	k := newTestKeys(t)
	cfg := k.config(t.TempDir())
	cfg.AwaitPublished = true
	l, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	v := k.verifier(t)
	r, err := Record(context.Background(), l, l, testEvent(7))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := v.VerifyCheckpoint(r.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.VerifyInclusion(r.Leaf, r.Index, r.Proof, cp); err != nil {
		t.Fatal(err)
	}
	pub, err := l.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pcp, err := v.VerifyCheckpoint(pub)
	if err != nil {
		t.Fatal(err)
	}
	if pcp.Size < cp.Size {
		t.Fatalf("AwaitPublished returned size %d beyond the published %d", cp.Size, pcp.Size)
	}
}

// TestTamperedTileDetected shows that a tile altered on disk yields proofs the
// client rejects, and that the log refuses to sign a checkpoint over it.
func TestTamperedTileDetected(t *testing.T) {
	k := newTestKeys(t)
	dir := t.TempDir()
	l := openTestLog(t, k, dir)
	v := k.verifier(t)
	ctx := context.Background()
	leaves := appendRange(t, l, 0, 300)
	cp, _ := awaitAll(t, l, v, leaves)

	// Leaf 4's inclusion proof starts with the hash of leaf 5, which lives in
	// the full level-0 tile 0 at offset 5*32.
	p, err := l.InclusionProof(ctx, 4, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.VerifyInclusion(leaves[4], 4, p, cp); err != nil {
		t.Fatalf("before tampering: %v", err)
	}
	tile := filepath.Join(dir, layout.TilePath(0, 0, 0))
	data, err := os.ReadFile(tile)
	if err != nil {
		t.Fatal(err)
	}
	data[5*32] ^= 0x80
	if err := os.WriteFile(tile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err = l.InclusionProof(ctx, 4, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.VerifyInclusion(leaves[4], 4, p, cp); ronghe.ErrorCode(err) != ronghe.EINTEGRITY {
		t.Fatalf("tampered tile: VerifyInclusion = %v, want EINTEGRITY", err)
	}
	// Leaf 5's own proof does not contain its (damaged) hash, only its
	// siblings', so it still verifies: the damage shows up exactly where the
	// altered node is used.
	// A leaf far from the damage still verifies.
	p299, err := l.InclusionProof(ctx, 299, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.VerifyInclusion(leaves[299], 299, p299, cp); err != nil {
		t.Fatalf("undamaged leaf 299: %v", err)
	}

	// The level-1 tile still holds the genuine hash of tile 0, so the next
	// receipt checkpoint is consistent and the log keeps working; but a
	// consistency proof from a size inside the damaged tile fails.
	pc, err := l.ConsistencyProof(ctx, 6, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	small := client.Checkpoint{Origin: cp.Origin, Size: 6, Hash: rootOf(t, leaves, 6)}
	if err := client.VerifyConsistency(small, cp, pc); ronghe.ErrorCode(err) != ronghe.EINTEGRITY {
		t.Fatalf("consistency through tampered tile: %v, want EINTEGRITY", err)
	}
}

// TestTamperedBundleDetected shows that an entry altered on disk no longer
// matches its inclusion proof.
func TestTamperedBundleDetected(t *testing.T) {
	k := newTestKeys(t)
	dir := t.TempDir()
	l := openTestLog(t, k, dir)
	v := k.verifier(t)
	ctx := context.Background()
	leaves := appendRange(t, l, 0, 10)
	cp, _ := awaitAll(t, l, v, leaves)

	// Rewrite the newest entry bundle on disk with one byte of one leaf changed.
	matches, err := filepath.Glob(filepath.Join(dir, "tile", "entries", "000.p", "*"))
	if err != nil || len(matches) == 0 {
		t.Fatalf("no partial bundle: %v", err)
	}
	for _, m := range matches {
		data, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		data = bytes.Replace(data, []byte("msg-00000003"), []byte("msg-00000666"), 1)
		if err := os.WriteFile(m, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var idx uint64
	for i, leaf := range leaves {
		if bytes.Contains(leaf, []byte("msg-00000003")) {
			idx = i
		}
	}
	stored, err := l.Leaf(ctx, idx)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(stored, leaves[idx]) {
		t.Fatal("tampering had no effect")
	}
	p, err := l.InclusionProof(ctx, idx, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.VerifyInclusion(stored, idx, p, cp); ronghe.ErrorCode(err) != ronghe.EINTEGRITY {
		t.Fatalf("tampered leaf: %v, want EINTEGRITY", err)
	}
}

// TestRefusesToSignFork damages the tree on disk so that the next tree is not
// an extension of the last signed one; the log must refuse to sign it.
func TestRefusesToSignFork(t *testing.T) {
	k := newTestKeys(t)
	dir := t.TempDir()
	cfg := k.config(dir)
	cfg.ShutdownTimeout = 500 * time.Millisecond
	l, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	v := k.verifier(t)
	ctx := context.Background()
	leaves := appendRange(t, l, 0, 10)
	awaitAll(t, l, v, leaves)
	// Wait until the published checkpoint covers the 10 leaves too.
	for {
		pub, err := l.publishedSize(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if pub == 10 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}

	// The partial level-0 tile for size 10 is what integration of leaf 10
	// starts from; damage the hash of leaf 3 in it.
	tile := filepath.Join(dir, layout.TilePath(0, 0, 10))
	data, err := os.ReadFile(tile)
	if err != nil {
		t.Fatal(err)
	}
	data[3*32] ^= 1
	if err := os.WriteFile(tile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	idx, err := l.AppendEvent(ctx, testEvent(1000))
	if err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, _, err = l.AwaitCheckpoint(actx, idx)
	if ronghe.ErrorCode(err) != ronghe.EINTEGRITY {
		t.Fatalf("AwaitCheckpoint over a forked tree: %v, want EINTEGRITY", err)
	}
	// Tessera's periodic publisher goes through the same guard: give it
	// several checkpoint intervals; the published checkpoint must stay at 10.
	time.Sleep(5 * DefaultCheckpointInterval)
	raw, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := v.VerifyCheckpoint(raw)
	if err != nil {
		t.Fatal(err)
	}
	if pub.Size != 10 {
		t.Fatalf("published checkpoint moved to size %d over a forked tree", pub.Size)
	}
	// Close cannot get a checkpoint covering the last append and says so.
	if err := l.Close(); err == nil {
		t.Fatal("Close succeeded although the last append can never be signed")
	}
}

// rootOf computes the RFC 6962 root of the first n leaves independently of
// the log.
func rootOf(t *testing.T, leaves map[uint64][]byte, n uint64) []byte {
	t.Helper()
	hashes := make([][]byte, n)
	for i := uint64(0); i < n; i++ {
		hashes[i] = client.LeafHash(leaves[i])
	}
	var root func(h [][]byte) []byte
	root = func(h [][]byte) []byte {
		if len(h) == 1 {
			return h[0]
		}
		k := 1
		for k*2 < len(h) {
			k *= 2
		}
		return hashChildren(root(h[:k]), root(h[k:]))
	}
	return root(hashes)
}

func hashChildren(l, r []byte) []byte { return rfc6962.DefaultHasher.HashChildren(l, r) }

// sigKeyHash returns the key ID of a signature line "— name base64".
func sigKeyHash(t *testing.T, line []byte) uint32 {
	t.Helper()
	f := bytes.Fields(line)
	if len(f) != 3 {
		t.Fatalf("malformed signature line %q", line)
	}
	sig, err := base64.StdEncoding.DecodeString(string(f[2]))
	if err != nil || len(sig) < 5 {
		t.Fatalf("malformed signature %q", f[2])
	}
	return binary.BigEndian.Uint32(sig)
}

// tamperSig flips one bit of the signature (not the key ID) in a signature line.
func tamperSig(t *testing.T, line []byte) []byte {
	t.Helper()
	f := bytes.Fields(line)
	sig, err := base64.StdEncoding.DecodeString(string(f[2]))
	if err != nil {
		t.Fatal(err)
	}
	sig[len(sig)-3] ^= 0x01
	return []byte(string(f[0]) + " " + string(f[1]) + " " + base64.StdEncoding.EncodeToString(sig))
}

func TestRecordReceipt(t *testing.T) {
	k := newTestKeys(t)
	l := openTestLog(t, k, t.TempDir())
	v := k.verifier(t)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		e := testEvent(i)
		r, err := Record(ctx, l, l, e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(r.Leaf, e.Leaf()) || r.Size <= r.Index {
			t.Fatalf("receipt %+v", r)
		}
		cp, err := v.VerifyCheckpoint(r.Checkpoint)
		if err != nil {
			t.Fatal(err)
		}
		if cp.Size != r.Size {
			t.Fatalf("receipt size %d, checkpoint size %d", r.Size, cp.Size)
		}
		if err := client.VerifyInclusion(r.Leaf, r.Index, r.Proof, cp); err != nil {
			t.Fatal(err)
		}
		back, err := ParseLeaf(r.Leaf)
		if err != nil || back.MessageID != e.MessageID {
			t.Fatalf("receipt leaf does not parse back: %v", err)
		}
	}
	if _, err := Record(ctx, l, l, Event{}); ronghe.ErrorCode(err) != ronghe.EINVALID {
		t.Fatalf("Record(invalid) = %v", err)
	}
}

// TestReceiptCheckpointsOnlyWhenAwaited: appends nobody awaits a checkpoint
// for (query records) make the log sign nothing; the first AwaitCheckpoint
// gets a checkpoint covering its index all the same.
func TestReceiptCheckpointsOnlyWhenAwaited(t *testing.T) {
	k := newTestKeys(t)
	l := openTestLog(t, k, t.TempDir())
	ctx := context.Background()
	var last uint64
	for i := 0; i < 5; i++ {
		idx, err := l.AppendEvent(ctx, testEvent(i))
		if err != nil {
			t.Fatal(err)
		}
		last = idx
	}
	time.Sleep(20 * DefaultAwaitPollPeriod)
	if n := l.cps.signedSize(); n != 0 {
		t.Fatalf("receipt checkpoint of size %d signed with nobody awaiting", n)
	}
	cp, size, err := l.AwaitCheckpoint(ctx, last)
	if err != nil {
		t.Fatal(err)
	}
	if size <= last {
		t.Fatalf("checkpoint of size %d does not cover %d", size, last)
	}
	if _, err := k.verifier(t).VerifyCheckpoint(cp); err != nil {
		t.Fatal(err)
	}
	if n := l.cps.signedSize(); n < size {
		t.Fatalf("signed size %d after awaiting, want >= %d", n, size)
	}
}

// TestCloseDuringAppends closes the log while appends are in flight: each
// append either fails as unavailable or returns an index that the checkpoint
// published by Close covers.
func TestCloseDuringAppends(t *testing.T) {
	k := newTestKeys(t)
	dir := t.TempDir()
	l, err := Open(context.Background(), k.config(dir))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var maxIdx uint64
	var ok, refused int
	start := make(chan struct{})
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			idx, err := l.AppendEvent(context.Background(), testEvent(i))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
				maxIdx = max(maxIdx, idx)
			case ronghe.ErrorCode(err) == ronghe.EUNAVAILABLE:
				refused++
			default:
				t.Errorf("append %d: %v", i, err)
			}
		}(i)
	}
	close(start)
	time.Sleep(2 * time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	if ok+refused != 200 {
		t.Fatalf("%d ok + %d refused != 200", ok, refused)
	}
	if ok == 0 {
		return
	}
	raw, err := os.ReadFile(filepath.Join(dir, layout.CheckpointPath))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := k.verifier(t).VerifyCheckpoint(raw)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size <= maxIdx || cp.Size != uint64(ok) {
		t.Fatalf("published size %d after Close; %d appends succeeded, max index %d", cp.Size, ok, maxIdx)
	}
}
