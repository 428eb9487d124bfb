package tlog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api/layout"
	tclient "github.com/transparency-dev/tessera/client"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/tlog/client"
)

// Defaults for Config fields left zero. They favour receipt latency: leaves
// that arrive while a batch is being sequenced go to Tessera together as the
// next batch (see sequencer), which Tessera sequences DefaultBatchMaxAge after
// it gets them (or as soon as it holds DefaultBatchMaxSize leaves); Tessera publishes a new checkpoint
// once a batch is integrated, but not more often than every
// DefaultCheckpointInterval (the minimum its POSIX driver allows); and
// AwaitCheckpoint looks for a covering checkpoint every DefaultAwaitPollPeriod.
const (
	// DefaultBatchMaxAge is how long Tessera waits for more leaves once
	// handed a group. Batches grow by themselves while the previous one is
	// sequenced, so this only has to gather the leaves that arrive together.
	DefaultBatchMaxAge = 1 * time.Millisecond
	// DefaultBatchMaxSize sequences a batch early once it holds this many leaves.
	DefaultBatchMaxSize = 1024
	// DefaultCheckpointInterval is the minimum time between published checkpoints.
	DefaultCheckpointInterval = 100 * time.Millisecond
	// DefaultAwaitPollPeriod is how often AwaitCheckpoint looks for a covering checkpoint.
	DefaultAwaitPollPeriod = 2 * time.Millisecond
	// DefaultShutdownTimeout bounds how long Close waits for its final checkpoint.
	DefaultShutdownTimeout = 30 * time.Second
)

// minCheckpointInterval is the lower bound Tessera's POSIX driver enforces.
const minCheckpointInterval = 100 * time.Millisecond

// Config configures a Log.
type Config struct {
	// Dir is the log directory; it holds the public tlog-tiles tree and
	// Tessera's private .state directory. It is created if missing.
	Dir string
	// Origin is the log's name, e.g. "ronghe.example/log": the first line of
	// every checkpoint and the key name of both checkpoint keys.
	Origin string
	// Ed25519 signs checkpoints (signed-note type 0x01).
	Ed25519 ed25519.PrivateKey
	// SM2 co-signs checkpoints (client.SM2SignatureType).
	SM2 *sm2.PrivateKey
	// BatchMaxAge is how long Tessera waits for more leaves after it is
	// handed a group of them (the leaves that arrived while the previous
	// batch was being sequenced); zero means DefaultBatchMaxAge.
	BatchMaxAge time.Duration
	// BatchMaxSize sequences a batch early once it holds this many leaves;
	// zero means DefaultBatchMaxSize.
	BatchMaxSize uint
	// CheckpointInterval is the minimum time between two published
	// checkpoints; zero means DefaultCheckpointInterval, the minimum allowed.
	CheckpointInterval time.Duration
	// AwaitPollPeriod is how often AwaitCheckpoint looks for a new covering
	// checkpoint; zero means DefaultAwaitPollPeriod.
	AwaitPollPeriod time.Duration
	// AwaitPublished makes AwaitCheckpoint wait for the checkpoint Tessera
	// publishes at the "checkpoint" path (at most one per CheckpointInterval)
	// instead of a receipt checkpoint signed on demand over the integrated
	// tree. It is slower (about CheckpointInterval per receipt) and only useful
	// when every receipt must name a checkpoint that was served publicly.
	AwaitPublished bool
	// ShutdownTimeout bounds how long Close waits for a checkpoint covering
	// every appended leaf; zero means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Logger receives operational messages; nil means slog.Default().
	Logger *slog.Logger
}

// Log is the platform's transparency log: a Tessera POSIX appender over
// Config.Dir whose checkpoints carry an Ed25519 signature and an SM2
// co-signature. Only one Log may be open on a directory at a time (see
// README.md). All methods are safe for concurrent use.
type Log struct {
	dir      string
	origin   string
	edVKey   string
	smVKey   string
	appender *tessera.Appender
	shutdown func(context.Context) error
	reader   tessera.LogReader
	awaiter  *tessera.PublicationAwaiter
	cps      *checkpointer // nil when AwaitPublished
	seq      *sequencer    // hands Tessera one group of leaves at a time
	cancel   context.CancelFunc
	lock     *writerLock
	handler  http.Handler
	logger   *slog.Logger
	timeout  time.Duration

	mu       sync.RWMutex // guards closed against concurrent Append
	closed   bool
	inflight sync.WaitGroup // Appends whose index is not yet known

	closeOnce sync.Once
	closeErr  error
}

var (
	_ Appender = (*Log)(nil)
	_ Prover   = (*Log)(nil)
)

// errClosed is returned by the methods of a closed Log.
func errClosed() error { return ronghe.Errorf(ronghe.EUNAVAILABLE, "transparency log is closed") }

func (c *Config) withDefaults() (Config, error) {
	cfg := *c
	if cfg.Dir == "" {
		return cfg, ronghe.Errorf(ronghe.EINVALID, "tlog: Dir is required")
	}
	if !client.ValidKeyName(cfg.Origin) {
		return cfg, ronghe.Errorf(ronghe.EINVALID, "tlog: invalid origin %q", cfg.Origin)
	}
	if cfg.BatchMaxAge <= 0 {
		cfg.BatchMaxAge = DefaultBatchMaxAge
	}
	if cfg.BatchMaxSize == 0 {
		cfg.BatchMaxSize = DefaultBatchMaxSize
	}
	if cfg.CheckpointInterval == 0 {
		cfg.CheckpointInterval = DefaultCheckpointInterval
	}
	if cfg.CheckpointInterval < minCheckpointInterval {
		return cfg, ronghe.Errorf(ronghe.EINVALID, "tlog: CheckpointInterval %v is below the minimum %v", cfg.CheckpointInterval, minCheckpointInterval)
	}
	if cfg.AwaitPollPeriod <= 0 {
		cfg.AwaitPollPeriod = DefaultAwaitPollPeriod
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}

// Open opens (creating if needed) the log in cfg.Dir for writing. It fails with
// ECONFLICT if another Log, in this or another process, has the directory open.
// The log's background work (sequencing, checkpoint publication) lives until
// Close; cancelling ctx after Open returns does not stop it.
func Open(ctx context.Context, c Config) (*Log, error) {
	cfg, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	edSigner, err := NewEd25519Signer(cfg.Origin, cfg.Ed25519)
	if err != nil {
		return nil, err
	}
	smSigner, err := NewSM2Signer(cfg.Origin, cfg.SM2)
	if err != nil {
		return nil, err
	}
	edVKey, smVKey, err := VerifierKeys(cfg.Origin, cfg.Ed25519.Public().(ed25519.PublicKey), &cfg.SM2.PublicKey)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("tlog: create %s: %w", cfg.Dir, err)
	}
	lock, err := acquireWriterLock(cfg.Dir)
	if err != nil {
		return nil, err
	}
	// An existing log must have been written under the same origin and its
	// published checkpoint must verify with the configured keys: appending to
	// someone else's tree, or continuing a log under other keys, is refused.
	anchorRaw, anchor, err := readAnchor(cfg.Dir, cfg.Origin, edVKey, smVKey)
	if err != nil {
		_ = lock.release()
		return nil, err
	}
	guard := newSignGuard(cfg.Origin, tclient.FileFetcher{Root: cfg.Dir}.ReadTile, anchor)
	signers := []note.Signer{guardedSigner{Signer: edSigner, g: guard}, smSigner}

	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	fail := func(err error) (*Log, error) {
		cancel()
		_ = lock.release()
		return nil, err
	}
	driver, err := posix.New(bg, posix.Config{Path: cfg.Dir})
	if err != nil {
		return fail(fmt.Errorf("tlog: posix driver: %w", err))
	}
	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(signers[0], signers[1:]...).
		WithBatching(cfg.BatchMaxSize, cfg.BatchMaxAge).
		WithCheckpointInterval(cfg.CheckpointInterval).
		WithShutdownTimeout(cfg.ShutdownTimeout)
	appender, shutdown, reader, err := tessera.NewAppender(bg, driver, opts)
	if err != nil {
		return fail(fmt.Errorf("tlog: open appender over %s: %w", cfg.Dir, err))
	}
	h, err := NewHandler(cfg.Dir)
	if err != nil {
		_ = shutdown(bg)
		return fail(err)
	}
	readCheckpoint := reader.ReadCheckpoint
	var cps *checkpointer
	if !cfg.AwaitPublished {
		var size uint64
		if anchor != nil {
			size = anchor.Size
		}
		cps = newCheckpointer(cfg.Origin, signers, reader, anchorRaw, size)
		readCheckpoint = cps.read
	}
	l := &Log{
		dir:      cfg.Dir,
		origin:   cfg.Origin,
		edVKey:   edVKey,
		smVKey:   smVKey,
		appender: appender,
		shutdown: shutdown,
		reader:   reader,
		awaiter:  tessera.NewPublicationAwaiter(bg, readCheckpoint, cfg.AwaitPollPeriod),
		cps:      cps,
		cancel:   cancel,
		lock:     lock,
		handler:  h,
		logger:   cfg.Logger,
		timeout:  cfg.ShutdownTimeout,
	}
	var advance func(uint64)
	if cps != nil {
		advance = cps.advance
	}
	l.seq = newSequencer(appender.Add, int(cfg.BatchMaxSize), advance, l.inflight.Done)
	go l.seq.run(bg)
	l.logger.InfoContext(ctx, "transparency log opened", slog.String("dir", cfg.Dir), slog.String("origin", cfg.Origin),
		slog.Duration("batch_max_age", cfg.BatchMaxAge), slog.Uint64("batch_max_size", uint64(cfg.BatchMaxSize)),
		slog.Duration("checkpoint_interval", cfg.CheckpointInterval), slog.Bool("await_published", cfg.AwaitPublished))
	return l, nil
}

// readAnchor returns the published checkpoint of an existing log in dir,
// verified with the configured keys, or nils for a new log.
func readAnchor(dir, origin, edVKey, smVKey string) ([]byte, *client.Checkpoint, error) {
	raw, err := os.ReadFile(filepath.Join(dir, layout.CheckpointPath))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, fmt.Errorf("tlog: read checkpoint: %w", err)
	}
	cp, err := parseCheckpointUnverified(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("tlog: existing checkpoint in %s: %w", dir, err)
	}
	if cp.Origin != origin {
		return nil, nil, ronghe.Errorf(ronghe.ECONFLICT, "tlog: %s holds the log %q, not %q", dir, cp.Origin, origin)
	}
	v, err := client.NewLogVerifier(origin, edVKey, smVKey)
	if err != nil {
		return nil, nil, err
	}
	if cp, err = v.VerifyCheckpoint(raw); err != nil {
		return nil, nil, fmt.Errorf("tlog: the checkpoint in %s does not verify with the configured keys: %w", dir, err)
	}
	return raw, &cp, nil
}

// parseCheckpointUnverified parses the body of a checkpoint note this process
// (or its predecessor on the same directory) wrote, without checking
// signatures. Clients must use client.LogVerifier instead.
func parseCheckpointUnverified(raw []byte) (client.Checkpoint, error) {
	i := bytes.Index(raw, []byte("\n\n"))
	if i < 0 {
		return client.Checkpoint{}, ronghe.Errorf(ronghe.EINVALID, "checkpoint note has no signature block")
	}
	return client.ParseCheckpointBody(string(raw[:i+1]))
}

// Origin returns the log origin.
func (l *Log) Origin() string { return l.origin }

// VerifierKeys returns the verifier key strings of the log's Ed25519 and SM2
// checkpoint keys, as accepted by client.NewLogVerifier.
func (l *Log) VerifierKeys() (ed25519VKey, sm2VKey string) { return l.edVKey, l.smVKey }

// Append validates leaf as a canonical event leaf (ParseLeaf), adds it to the
// log and returns its index once it is sequenced and integrated. Appending
// anything but an event leaf fails with EINVALID: the log commits to digests
// only, never to free-form content.
func (l *Log) Append(ctx context.Context, leaf []byte) (uint64, error) {
	if _, err := ParseLeaf(leaf); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	entry := tessera.NewEntry(bytes.Clone(leaf))
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return 0, errClosed()
	}
	l.inflight.Add(1) // done by the sequencer once it answers
	res := make(chan seqResult, 1)
	l.seq.enqueue(&seqRequest{ctx: ctx, entry: entry, res: res})
	l.mu.RUnlock()

	select {
	case r := <-res:
		if r.err != nil {
			if errors.Is(r.err, tessera.ErrPushback) {
				return 0, ronghe.WrapError(ronghe.EUNAVAILABLE, r.err, "transparency log is overloaded, retry later")
			}
			return 0, fmt.Errorf("tlog: append: %w", r.err)
		}
		return r.idx, nil
	case <-ctx.Done():
		// The leaf may still be sequenced; the caller must treat the outcome
		// as unknown (the event is logged at least once if it retries).
		return 0, ctx.Err()
	}
}

// AppendEvent appends e.Leaf() after validating the event.
func (l *Log) AppendEvent(ctx context.Context, e Event) (uint64, error) {
	if err := e.Validate(); err != nil {
		return 0, err
	}
	return l.Append(ctx, e.Leaf())
}

func (l *Log) isClosed() bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.closed
}

// Checkpoint returns the latest published checkpoint note (Ed25519 and SM2
// signed).
func (l *Log) Checkpoint(ctx context.Context) ([]byte, error) {
	raw, err := l.reader.ReadCheckpoint(ctx)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "no checkpoint published yet")
	} else if err != nil {
		return nil, fmt.Errorf("tlog: read checkpoint: %w", err)
	}
	return raw, nil
}

// publishedSize returns the tree size of the latest published checkpoint.
func (l *Log) publishedSize(ctx context.Context) (uint64, error) {
	raw, err := l.Checkpoint(ctx)
	if err != nil {
		return 0, err
	}
	cp, err := parseCheckpointUnverified(raw)
	if err != nil {
		return 0, fmt.Errorf("tlog: published checkpoint: %w", err)
	}
	return cp.Size, nil
}

// AwaitCheckpoint blocks until a signed checkpoint commits to the entry at
// index and returns that checkpoint and its size (size > index), so a receipt
// can embed a checkpoint that already covers the entry. It uses Tessera's
// PublicationAwaiter polling every Config.AwaitPollPeriod. By default the
// checkpoints it polls are receipt checkpoints, signed on demand over the
// integrated tree (see README.md): they may be up to one CheckpointInterval
// ahead of the published "checkpoint", and InclusionProof and ConsistencyProof
// accept their sizes. With Config.AwaitPublished it waits for the published
// checkpoint instead. It fails with ENOTFOUND for an index that has not been
// appended, and returns ctx's error if ctx ends first.
func (l *Log) AwaitCheckpoint(ctx context.Context, index uint64) ([]byte, uint64, error) {
	if l.isClosed() {
		return nil, 0, errClosed()
	}
	if l.cps == nil || index >= l.cps.hint.Load() {
		integrated, err := l.reader.IntegratedSize(ctx)
		if err != nil {
			return nil, 0, fmt.Errorf("tlog: integrated size: %w", err)
		}
		if index >= integrated {
			return nil, 0, ronghe.Errorf(ronghe.ENOTFOUND, "no entry at index %d (log has %d)", index, integrated)
		}
	}
	if l.cps != nil {
		l.cps.awaiting.Add(1)
		defer l.cps.awaiting.Add(-1)
	}
	known := func() (tessera.Index, error) { return tessera.Index{Index: index}, nil }
	_, raw, err := l.awaiter.Await(ctx, known)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		return nil, 0, fmt.Errorf("tlog: await checkpoint for %d: %w", index, err)
	}
	cp, err := parseCheckpointUnverified(raw)
	if err != nil {
		return nil, 0, fmt.Errorf("tlog: awaited checkpoint: %w", err)
	}
	if cp.Size <= index {
		return nil, 0, fmt.Errorf("tlog: awaited checkpoint of size %d does not cover %d", cp.Size, index)
	}
	return raw, cp.Size, nil
}

// InclusionProof returns the RFC 6962 inclusion proof of the entry at index in
// the tree of the given size, built from the tiles on disk. size must not exceed
// the largest signed checkpoint (published or receipt), so every proof refers
// to a signed tree.
func (l *Log) InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error) {
	if index >= size {
		return nil, ronghe.Errorf(ronghe.EINVALID, "index %d is outside a tree of size %d", index, size)
	}
	if err := l.checkPublished(ctx, size); err != nil {
		return nil, err
	}
	pb, err := tclient.NewProofBuilder(ctx, size, l.reader.ReadTile)
	if err != nil {
		return nil, fmt.Errorf("tlog: proof builder: %w", err)
	}
	p, err := pb.InclusionProof(ctx, index)
	if err != nil {
		return nil, fmt.Errorf("tlog: inclusion proof %d in %d: %w", index, size, err)
	}
	return p, nil
}

// ConsistencyProof returns the RFC 6962 consistency proof between the trees of
// sizes from and to (from <= to <= largest signed checkpoint size).
func (l *Log) ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error) {
	if from > to {
		return nil, ronghe.Errorf(ronghe.EINVALID, "consistency from %d to smaller size %d", from, to)
	}
	if err := l.checkPublished(ctx, to); err != nil {
		return nil, err
	}
	pb, err := tclient.NewProofBuilder(ctx, to, l.reader.ReadTile)
	if err != nil {
		return nil, fmt.Errorf("tlog: proof builder: %w", err)
	}
	p, err := pb.ConsistencyProof(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("tlog: consistency proof %d to %d: %w", from, to, err)
	}
	return p, nil
}

// signedSize returns the largest tree size with a signed checkpoint: the
// published one, or the latest receipt checkpoint.
func (l *Log) signedSize(ctx context.Context) (uint64, error) {
	var receipt uint64
	if l.cps != nil {
		receipt = l.cps.signedSize()
	}
	pub, err := l.publishedSize(ctx)
	if err != nil {
		return 0, err
	}
	return max(pub, receipt), nil
}

// checkPublished fails unless some signed checkpoint (published, or a receipt
// checkpoint) has a size of at least size.
func (l *Log) checkPublished(ctx context.Context, size uint64) error {
	if l.cps != nil && size <= l.cps.signedSize() {
		return nil
	}
	signed, err := l.signedSize(ctx)
	if err != nil {
		return err
	}
	if size > signed {
		return ronghe.Errorf(ronghe.ENOTFOUND, "no signed checkpoint of size %d yet (largest is %d)", size, signed)
	}
	return nil
}

// Leaf returns the entry at index as stored in the log's entry bundles, for
// evidence bundles. The index must be covered by a signed checkpoint. The bytes
// come from disk: check them against an inclusion proof before relying on them.
func (l *Log) Leaf(ctx context.Context, index uint64) ([]byte, error) {
	size, err := l.signedSize(ctx)
	if err != nil {
		return nil, err
	}
	if index >= size {
		return nil, ronghe.Errorf(ronghe.ENOTFOUND, "no signed entry at index %d (signed size %d)", index, size)
	}
	b, err := tclient.GetEntryBundle(ctx, l.reader.ReadEntryBundle, index/layout.EntryBundleWidth, size)
	if err != nil {
		return nil, fmt.Errorf("tlog: entry bundle for %d: %w", index, err)
	}
	i := index % layout.EntryBundleWidth
	if i >= uint64(len(b.Entries)) {
		return nil, ronghe.Errorf(ronghe.EINTEGRITY, "entry bundle for index %d holds only %d entries", index, len(b.Entries))
	}
	return bytes.Clone(b.Entries[i]), nil
}

// Handler serves the log's public tlog-tiles resources read-only; see
// NewHandler.
func (l *Log) Handler() http.Handler { return l.handler }

// Close stops accepting appends, waits for the appends in flight to be
// sequenced, waits (up to Config.ShutdownTimeout) for a published checkpoint
// covering every appended leaf, stops the background work, waits for any of
// Tessera's jobs still writing, and releases the writer lock. It is idempotent.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		l.inflight.Wait()

		ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
		err := l.shutdown(ctx)
		cancel()
		if err != nil {
			err = fmt.Errorf("tlog: shutdown: %w", err)
		}
		l.cancel()
		if qerr := quiesce(l.dir); qerr != nil {
			err = errors.Join(err, fmt.Errorf("tlog: wait for background jobs: %w", qerr))
		}
		if lerr := l.lock.release(); lerr != nil {
			err = errors.Join(err, fmt.Errorf("tlog: release writer lock: %w", lerr))
		}
		l.closeErr = err
		l.logger.Info("transparency log closed", slog.String("dir", l.dir))
	})
	return l.closeErr
}
