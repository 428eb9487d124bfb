package envelope

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/suite"
)

// maxChunks is how many chunks one envelope can hold: the chunk counter in
// the nonce is 32 bits.
const maxChunks = math.MaxUint32 + 1

// preexisting is how many chunk buffers a Writer can hold when its pipeline
// starts: the one being sealed, a read-ahead one and a spare.
const preexisting = 3

// maxDefaultWorkers caps the default number of encryption goroutines.
const maxDefaultWorkers = 8

// Option tunes NewWriter and NewReader.
type Option func(*options) error

type options struct {
	chunkSize int
	workers   int
}

// WithChunkSize sets the plaintext size of every chunk but the last: a power
// of two from MinChunkSize to MaxChunkSize. The default, DefaultChunkSize, is
// right for almost everything; readers learn the size from the header.
func WithChunkSize(n int) Option {
	return func(o *options) error {
		if _, err := chunkLog2(n); err != nil {
			return err
		}
		o.chunkSize = n
		return nil
	}
}

// WithConcurrency sets how many goroutines encrypt (or, for a reader,
// decrypt) chunks in parallel; 1 does all the work on the caller's goroutine.
// The default is GOMAXPROCS, at most 8.
func WithConcurrency(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return ronghe.Errorf(ronghe.EINVALID, "concurrency must be at least 1, not %d", n)
		}
		o.workers = n
		return nil
	}
}

func buildOptions(opts []Option) (options, error) {
	o := options{chunkSize: DefaultChunkSize, workers: min(runtime.GOMAXPROCS(0), maxDefaultWorkers)}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// nonce returns the nonce of chunk seq: prefix || big-endian seq || last flag.
func nonce(dst *[suite.NonceSize]byte, prefix *[NoncePrefixSize]byte, seq uint32, last bool) []byte {
	copy(dst[:], prefix[:])
	binary.BigEndian.PutUint32(dst[NoncePrefixSize:], seq)
	dst[suite.NonceSize-1] = 0
	if last {
		dst[suite.NonceSize-1] = 1
	}
	return dst[:]
}

// Writer encrypts a stream into an envelope. It is what NewWriter returns;
// see there. A Writer is not safe for concurrent use.
type Writer struct {
	ctx       context.Context
	dst       io.Writer
	header    []byte
	prefix    [NoncePrefixSize]byte
	dek       []byte
	suite     ronghe.Suite
	aead      cipher.AEAD // used on the caller's goroutine
	nb        [suite.NonceSize]byte
	chunkSize int
	workers   int

	cur   *chunk    // the chunk being filled; nil until needed
	spare *chunk    // a recycled buffer while no pipeline runs
	seq   uint64    // index of the next chunk to seal
	pipe  *pipeline // nil until a second chunk is needed and workers > 1
	err   error     // sticky: once set, every call returns it
	done  bool      // Close was called
}

// chunk is one unit of work: a plaintext buffer sealed in place.
type chunk struct {
	buf   []byte // plaintext, then ciphertext || tag; capacity chunkSize+TagSize
	seq   uint32
	last  bool
	ready chan struct{} // signalled by the worker once buf is sealed
}

// NewWriter starts an envelope on dst: it draws a random data key for suite
// s, wraps it with kek, writes the header and returns a writer that encrypts
// everything written to it in chunks. The caller must call Close, which seals
// the final chunk (without it the envelope is truncated and unreadable) and
// stops the encryption goroutines; Close does not close dst.
//
// Full chunks are sealed by a pool of goroutines (see WithConcurrency) and
// written to dst in order by one more, so Write returns as soon as its data
// is queued; memory stays at a few chunks per worker whatever the size. Data
// is only durable once Close has returned nil. If ctx is cancelled, Write and
// Close fail and the envelope is left incomplete.
func NewWriter(ctx context.Context, dst io.Writer, kek KEK, s ronghe.Suite, opts ...Option) (io.WriteCloser, error) {
	return newWriter(ctx, dst, kek, s, opts...)
}

func newWriter(ctx context.Context, dst io.Writer, kek KEK, s ronghe.Suite, opts ...Option) (*Writer, error) {
	if err := suite.Check(s); err != nil {
		return nil, err
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	if kek == nil {
		return nil, ronghe.Errorf(ronghe.EINVALID, "no KEK given")
	}
	dek := make([]byte, suite.KeySize(s))
	if _, err := rand.Read(dek); err != nil {
		return nil, fmt.Errorf("envelope: generate data key: %w", err)
	}
	wrapped, err := kek.Wrap(ctx, dek)
	if err != nil {
		clear(dek)
		return nil, fmt.Errorf("envelope: wrap data key with KEK %q: %w", kek.ID(), err)
	}
	h := Header{Suite: s, ChunkSize: o.chunkSize, KEKID: kek.ID(), WrappedDEK: wrapped}
	if _, err := rand.Read(h.NoncePrefix[:]); err != nil {
		clear(dek)
		return nil, fmt.Errorf("envelope: generate nonce prefix: %w", err)
	}
	header, err := h.MarshalBinary()
	if err != nil {
		clear(dek)
		return nil, err
	}
	aead, err := suite.NewAEAD(s, dek)
	if err != nil {
		clear(dek)
		return nil, err
	}
	if err := writeAll(dst, header); err != nil {
		clear(dek)
		return nil, err
	}
	return &Writer{
		ctx: ctx, dst: dst, header: header, prefix: h.NoncePrefix, dek: dek, suite: s,
		aead: aead, chunkSize: o.chunkSize, workers: o.workers,
	}, nil
}

func writeAll(dst io.Writer, b []byte) error {
	n, err := dst.Write(b)
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return fmt.Errorf("envelope: write: %w", err)
	}
	return nil
}

var errClosed = ronghe.Errorf(ronghe.EINVALID, "write to a closed envelope writer")

// Write encrypts p into the envelope. Data is buffered until a chunk is full
// and more follows; it reaches dst in order, possibly after Write returns.
func (w *Writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, errClosed
	}
	n := 0
	for len(p) > 0 {
		buf, err := w.space()
		if err != nil {
			return n, err
		}
		k := copy(buf, p)
		w.cur.buf = w.cur.buf[:len(w.cur.buf)+k]
		p = p[k:]
		n += k
	}
	return n, nil
}

// ReadFrom encrypts everything from r until io.EOF, reading straight into
// chunk buffers; io.Copy uses it. A full chunk is sealed only once r has
// yielded at least one more byte, so the last chunk is never empty unless the
// whole stream is.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	if w.done {
		return 0, errClosed
	}
	var total int64
	for {
		if w.err != nil {
			return total, w.err
		}
		if err := w.ctx.Err(); err != nil {
			return total, w.fail(err)
		}
		if w.cur == nil {
			c, err := w.newChunk()
			if err != nil {
				return total, w.fail(err)
			}
			w.cur = c
		}
		if len(w.cur.buf) < w.chunkSize {
			k, err := readInto(r, w.cur)
			total += int64(k)
			if err != nil {
				return total, eofIsNil(err)
			}
			continue
		}
		// The current chunk is full: read ahead into a fresh one to learn
		// whether it is the last.
		next, err := w.newChunk()
		if err != nil {
			return total, w.fail(err)
		}
		k, rerr := readInto(r, next)
		total += int64(k)
		if k == 0 {
			w.recycle(next)
			return total, eofIsNil(rerr)
		}
		if err := w.seal(false); err != nil {
			w.recycle(next)
			return total, w.fail(err)
		}
		w.cur = next
		if rerr != nil {
			return total, eofIsNil(rerr)
		}
	}
}

// readInto appends one Read of r to c's free space, retrying reads that
// return nothing and no error.
func readInto(r io.Reader, c *chunk) (int, error) {
	free := c.buf[len(c.buf) : cap(c.buf)-suite.TagSize]
	for range 100 {
		k, err := r.Read(free)
		if k < 0 || k > len(free) {
			return 0, fmt.Errorf("envelope: reader returned invalid count %d", k)
		}
		c.buf = c.buf[:len(c.buf)+k]
		if k > 0 || err != nil {
			return k, err
		}
	}
	return 0, io.ErrNoProgress
}

func eofIsNil(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// space returns the free part of the current chunk, sealing a full chunk
// first: a full chunk with more data to come is known not to be the last.
func (w *Writer) space() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	if err := w.ctx.Err(); err != nil {
		return nil, w.fail(err)
	}
	if w.cur != nil && len(w.cur.buf) == w.chunkSize {
		if err := w.seal(false); err != nil {
			return nil, w.fail(err)
		}
	}
	if w.cur == nil {
		c, err := w.newChunk()
		if err != nil {
			return nil, w.fail(err)
		}
		w.cur = c
	}
	return w.cur.buf[len(w.cur.buf):w.chunkSize], nil
}

// fail records the first error and returns it.
func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
		if w.pipe != nil {
			w.pipe.fail(err)
		}
	}
	return w.err
}

// newChunk returns an empty chunk buffer, recycled where possible.
func (w *Writer) newChunk() (*chunk, error) {
	if w.pipe != nil {
		return w.pipe.get(w.ctx)
	}
	if c := w.spare; c != nil {
		w.spare = nil
		return c, nil
	}
	return &chunk{buf: make([]byte, 0, w.chunkSize+suite.TagSize)}, nil
}

// recycle returns an unused chunk buffer for newChunk to hand out again.
func (w *Writer) recycle(c *chunk) {
	if c == nil {
		return
	}
	c.buf = c.buf[:0]
	if w.pipe != nil {
		w.pipe.free <- c // never blocks: free holds every chunk there is
		return
	}
	w.spare = c
}

// seal hands the current chunk on: to the pipeline when it runs (starting it
// for the first non-final chunk), otherwise sealing and writing it here.
func (w *Writer) seal(last bool) error {
	// A chunk that is not the last promises another, which needs a number too.
	if w.seq >= maxChunks || (!last && w.seq+1 >= maxChunks) {
		return ronghe.Errorf(ronghe.ETOOLARGE, "envelope exceeds %d chunks of %d bytes", uint64(maxChunks), w.chunkSize)
	}
	c := w.cur
	w.cur = nil
	c.seq, c.last = uint32(w.seq), last
	w.seq++
	if w.pipe == nil && !last && w.workers > 1 {
		p, err := startPipeline(w)
		if err != nil {
			return err
		}
		w.pipe = p
		// Safety net for a caller that drops the Writer without Close: once
		// it is unreachable, let the goroutines drain and exit. They hold no
		// reference to w, only to p.
		runtime.AddCleanup(w, func(p *pipeline) { p.stop() }, p)
		w.recycle(w.spare)
		w.spare = nil
	}
	if w.pipe != nil {
		w.pipe.submit(c)
		return w.pipe.error()
	}
	out := w.aead.Seal(c.buf[:0], nonce(&w.nb, &w.prefix, c.seq, last), c.buf, w.header)
	err := writeAll(w.dst, out)
	w.recycle(c)
	return err
}

// Close seals the final chunk, waits until every chunk is written to dst and
// releases the encryption goroutines and the data key. It returns the first
// error of the whole stream; calling it again returns the same result.
func (w *Writer) Close() error {
	if w.done {
		return w.err
	}
	w.done = true
	if w.err == nil {
		if err := w.ctx.Err(); err != nil {
			w.fail(err)
		} else {
			if w.cur == nil {
				if c, err := w.newChunk(); err != nil {
					w.fail(err)
				} else {
					w.cur = c
				}
			}
			if w.err == nil {
				if err := w.seal(true); err != nil {
					w.fail(err)
				}
			}
		}
	}
	if w.pipe != nil {
		if err := w.pipe.stop(); err != nil && w.err == nil {
			w.err = err
		}
	}
	clear(w.dek)
	w.cur = nil
	return w.err
}

// pipeline seals chunks on worker goroutines and writes them in order on one
// more. Every chunk cycles free -> caller -> (jobs, order) -> worker ->
// writer -> free. At most max chunks are made here and at most preexisting
// more came from before the pipeline started, so channels with room for all
// of them never block on send.
type pipeline struct {
	jobs     chan *chunk   // to the workers
	order    chan *chunk   // to the writer, in sequence order
	free     chan *chunk   // back to the caller
	max      int           // chunks in existence at most
	made     int           // chunks made so far; caller goroutine only
	finished chan struct{} // closed when the writer goroutine returns
	workers  sync.WaitGroup
	failed   atomic.Bool
	mu       sync.Mutex
	err      error
	size     int
	stopOnce sync.Once
}

func startPipeline(w *Writer) (*pipeline, error) {
	limit := 2*w.workers + 2
	room := limit + preexisting
	p := &pipeline{
		jobs:     make(chan *chunk, room),
		order:    make(chan *chunk, room),
		free:     make(chan *chunk, room),
		max:      limit,
		finished: make(chan struct{}),
		size:     w.chunkSize + suite.TagSize,
	}
	aeads := make([]cipher.AEAD, w.workers)
	aeads[0] = w.aead
	for i := 1; i < w.workers; i++ {
		a, err := suite.NewAEAD(w.suite, w.dek)
		if err != nil {
			return nil, err
		}
		aeads[i] = a
	}
	header, prefix := w.header, w.prefix
	for _, aead := range aeads {
		p.workers.Go(func() {
			var nb [suite.NonceSize]byte
			for c := range p.jobs {
				if !p.failed.Load() {
					c.buf = aead.Seal(c.buf[:0], nonce(&nb, &prefix, c.seq, c.last), c.buf, header)
				}
				c.ready <- struct{}{}
			}
		})
	}
	dst := w.dst
	go func() {
		defer close(p.finished)
		for c := range p.order {
			<-c.ready
			if !p.failed.Load() {
				if err := writeAll(dst, c.buf); err != nil {
					p.fail(err)
				}
			}
			c.buf = c.buf[:0]
			p.free <- c
		}
	}()
	return p, nil
}

func (p *pipeline) submit(c *chunk) {
	if c.ready == nil {
		c.ready = make(chan struct{}, 1)
	}
	p.order <- c
	p.jobs <- c
}

// get returns a free chunk, making one while fewer than max exist and
// otherwise waiting for the writer goroutine to return one.
func (p *pipeline) get(ctx context.Context) (*chunk, error) {
	select {
	case c := <-p.free:
		return c, nil
	default:
	}
	if p.made < p.max {
		p.made++
		return &chunk{buf: make([]byte, 0, p.size), ready: make(chan struct{}, 1)}, nil
	}
	select {
	case c := <-p.free:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *pipeline) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
	p.failed.Store(true)
}

func (p *pipeline) error() error {
	if !p.failed.Load() {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// stop lets the queued chunks drain, ends the goroutines and returns the
// first error any of them met.
func (p *pipeline) stop() error {
	p.stopOnce.Do(func() {
		close(p.jobs)
		close(p.order)
	})
	p.workers.Wait()
	<-p.finished
	return p.error()
}
