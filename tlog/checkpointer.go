package tlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera"
	tclient "github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/tlog/client"
)

// checkpointer signs "receipt checkpoints": checkpoints over the integrated
// tree, made on demand so that a caller need not wait for Tessera's next
// periodic publication (at most one every CheckpointInterval, 100 ms minimum).
//
// A receipt checkpoint is exactly as binding as a published one: same origin,
// same keys, same C2SP format, over the same append-only tree, and it goes
// through the same signGuard. Tessera's POSIX driver writes all tiles before it
// records a new integrated size, so every size it reports is backed by tiles.
type checkpointer struct {
	origin  string
	signers []note.Signer // guarded
	reader  tessera.LogReader

	// hint is a lower bound on the integrated size, raised by every Append
	// whose index resolved. It lets read skip all I/O when nothing changed.
	hint atomic.Uint64
	// awaiting counts AwaitCheckpoint calls in progress. The awaiter polls
	// whether or not anyone waits; with nobody waiting, a poll signs
	// nothing (appends that need no receipt, like query records, would
	// otherwise cost two signatures every poll period).
	awaiting atomic.Int64

	mu   sync.Mutex
	size uint64 // size of raw, the last checkpoint signed or adopted
	raw  []byte
}

// newCheckpointer starts from the published checkpoint, if any (raw may be nil).
func newCheckpointer(origin string, signers []note.Signer, reader tessera.LogReader, raw []byte, size uint64) *checkpointer {
	return &checkpointer{origin: origin, signers: signers, reader: reader, raw: raw, size: size}
}

// advance raises the integrated-size hint to at least n.
func (c *checkpointer) advance(n uint64) {
	for {
		old := c.hint.Load()
		if n <= old || c.hint.CompareAndSwap(old, n) {
			return
		}
	}
}

// signedSize returns the size of the latest receipt checkpoint.
func (c *checkpointer) signedSize() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}

// read returns a checkpoint covering the whole integrated tree, signing a new
// one if the tree grew since the last. It is the readCheckpoint function of
// the PublicationAwaiter, so it runs at most once per poll period; it signs
// only while some AwaitCheckpoint call waits.
func (c *checkpointer) read(ctx context.Context) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.raw != nil && (c.hint.Load() <= c.size || c.awaiting.Load() == 0) {
		return c.raw, nil
	}
	if c.raw == nil && c.awaiting.Load() == 0 {
		return nil, os.ErrNotExist // nobody waits; the awaiter polls again
	}
	n, err := c.reader.IntegratedSize(ctx)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && c.raw == nil {
			return nil, os.ErrNotExist // nothing integrated yet; the awaiter retries
		}
		return nil, fmt.Errorf("tlog: integrated size: %w", err)
	}
	if c.raw != nil && n <= c.size {
		return c.raw, nil
	}
	root, err := treeRoot(ctx, n, c.reader.ReadTile)
	if err != nil {
		return nil, err
	}
	body := client.Checkpoint{Origin: c.origin, Size: n, Hash: root}.Marshal()
	raw, err := note.Sign(&note.Note{Text: string(body)}, c.signers...)
	if err != nil {
		return nil, fmt.Errorf("tlog: sign receipt checkpoint of size %d: %w", n, err)
	}
	c.size, c.raw = n, raw
	return raw, nil
}

// signGuard stands between every checkpoint and the log keys. Before a
// checkpoint body is signed, by Tessera's periodic publisher or by the
// checkpointer, it proves from the tiles on disk that the tree it describes
// and the largest tree signed so far are consistent (one is a prefix of the
// other), starting from the published checkpoint found at Open. So the log
// never signs two incompatible trees, even if files under Dir were damaged or
// altered: it stops signing instead, and AwaitCheckpoint and Close report it.
type signGuard struct {
	origin   string
	readTile tclient.TileFetcherFunc

	mu   sync.Mutex
	have bool
	size uint64
	root []byte
}

// newSignGuard returns a guard anchored on a verified checkpoint, or
// unanchored (the first checkpoint signed becomes the anchor) if anchor is nil.
func newSignGuard(origin string, readTile tclient.TileFetcherFunc, anchor *client.Checkpoint) *signGuard {
	g := &signGuard{origin: origin, readTile: readTile}
	if anchor != nil {
		g.have, g.size, g.root = true, anchor.Size, bytes.Clone(anchor.Hash)
	}
	return g
}

// check returns nil if the checkpoint body msg may be signed.
func (g *signGuard) check(ctx context.Context, msg []byte) error {
	cp, err := client.ParseCheckpointBody(string(msg))
	if err != nil {
		return fmt.Errorf("refusing to sign a malformed checkpoint: %w", err)
	}
	if cp.Origin != g.origin {
		return ronghe.Errorf(ronghe.EINTEGRITY, "refusing to sign a checkpoint for origin %q", cp.Origin)
	}
	if cp.Size == 0 && !bytes.Equal(cp.Hash, rfc6962.DefaultHasher.EmptyRoot()) {
		return ronghe.Errorf(ronghe.EINTEGRITY, "refusing to sign an empty tree with a non-empty root")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case !g.have:
		g.have, g.size, g.root = true, cp.Size, cp.Hash
		return nil
	case cp.Size == g.size:
		if !bytes.Equal(cp.Hash, g.root) {
			return ronghe.Errorf(ronghe.EINTEGRITY, "refusing to sign root %x for size %d: already signed root %x", cp.Hash, cp.Size, g.root)
		}
		return nil
	case cp.Size > g.size:
		if err := g.consistent(ctx, g.size, cp.Size, g.root, cp.Hash); err != nil {
			return err
		}
		g.size, g.root = cp.Size, cp.Hash
		return nil
	default:
		return g.consistent(ctx, cp.Size, g.size, cp.Hash, g.root)
	}
}

// consistent proves from the tiles that the tree (small, r1) is a prefix of
// the tree (big, r2).
func (g *signGuard) consistent(ctx context.Context, small, big uint64, r1, r2 []byte) error {
	if small == 0 {
		return nil // the empty tree is a prefix of every tree; its root was checked
	}
	pb, err := tclient.NewProofBuilder(ctx, big, g.readTile)
	if err != nil {
		return fmt.Errorf("tlog: proof builder: %w", err)
	}
	p, err := pb.ConsistencyProof(ctx, small, big)
	if err != nil {
		return fmt.Errorf("tlog: consistency proof %d to %d: %w", small, big, err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, small, big, p, r1, r2); err != nil {
		return ronghe.WrapError(ronghe.EINTEGRITY, err,
			fmt.Sprintf("log tiles are not consistent between sizes %d and %d; refusing to sign", small, big))
	}
	return nil
}

// guardedSigner is a note.Signer that asks a signGuard before signing. Only
// the first signer of a note needs it: note.Sign stops at the first error.
type guardedSigner struct {
	note.Signer
	g *signGuard
}

// Sign checks msg with the guard, then signs it.
func (s guardedSigner) Sign(msg []byte) ([]byte, error) {
	if err := s.g.check(context.Background(), msg); err != nil {
		return nil, err
	}
	return s.Signer.Sign(msg)
}

// treeRoot computes the RFC 6962 root of the first n leaves from the tiles.
func treeRoot(ctx context.Context, n uint64, readTile tclient.TileFetcherFunc) ([]byte, error) {
	if n == 0 {
		return rfc6962.DefaultHasher.EmptyRoot(), nil
	}
	hashes, err := tclient.FetchRangeNodes(ctx, n, readTile)
	if err != nil {
		return nil, fmt.Errorf("tlog: range nodes for size %d: %w", n, err)
	}
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	r, err := rf.NewRange(0, n, hashes)
	if err != nil {
		return nil, fmt.Errorf("tlog: compact range for size %d: %w", n, err)
	}
	root, err := r.GetRootHash(nil)
	if err != nil {
		return nil, fmt.Errorf("tlog: root for size %d: %w", n, err)
	}
	return bytes.Clone(root), nil
}
