package upload

import (
	"context"
	"encoding"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/envelope"
	"github.com/ronghe/ronghe/suite"
)

// marshalHash returns the hash's internal state; both suite hashes (SHA-256
// from crypto/sha256 and SM3 from gmsm) implement encoding.BinaryMarshaler.
func marshalHash(h hash.Hash) ([]byte, error) {
	m, ok := h.(encoding.BinaryMarshaler)
	if !ok {
		return nil, ronghe.Errorf(ronghe.EINTERNAL, "hash %T cannot save its state", h)
	}
	b, err := m.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("upload: save hash state: %w", err)
	}
	return b, nil
}

// restoreHash returns a suite hash in the state marshalHash saved.
func restoreHash(s ronghe.Suite, saved []byte) (hash.Hash, error) {
	h := suite.NewHash(s)
	u, ok := h.(encoding.BinaryUnmarshaler)
	if !ok {
		return nil, ronghe.Errorf(ronghe.EINTERNAL, "hash %T cannot restore its state", h)
	}
	if err := u.UnmarshalBinary(saved); err != nil {
		return nil, ronghe.WrapError(ronghe.EINTERNAL, err, "saved hash state does not restore")
	}
	return h, nil
}

// sealedLen returns the length of the .bin file that st describes: the
// header and Chunks chunks, all full but a complete upload's last.
func sealedLen(st *state) int64 {
	ct := int64(st.ChunkSize + suite.TagSize)
	if !st.Complete {
		return int64(len(st.Header)) + int64(st.Chunks)*ct
	}
	return int64(len(st.Header)) + st.Info.Size + int64(st.Chunks)*suite.TagSize
}

// progress is a durable point of the stream: the first chunks sealed and
// written, the hash state after them and, for the last chunk, the digest.
type progress struct {
	chunks   uint64
	hash     []byte
	complete bool
	digest   []byte
}

// apply records p in st.
func (p progress) apply(st *state) {
	st.Chunks = p.chunks
	st.HashState = p.hash
	st.Complete = p.complete
	st.Digest = p.digest
	if p.complete {
		st.Info.Offset = st.Info.Size
	} else {
		st.Info.Offset = int64(p.chunks) * int64(st.ChunkSize)
	}
}

// writeChunk reads src from offset and appends it to the upload in whole
// chunks; the caller holds the upload's lock. It returns how many plaintext
// bytes are now durably stored: only whole chunks, or the rest of the upload
// when src reaches its end. A partial chunk at the end of src is read and
// discarded, and the client resumes from the offset tusd reports.
//
// Chunks flow through a small pipeline — this goroutine reads, one goroutine
// hashes, Workers goroutines seal, one writes in order, one starts writeback
// and commits checkpoints — over a fixed set of buffers, so memory is flat,
// hashing overlaps encryption and neither waits for the disk.
func (s *Store) writeChunk(ctx context.Context, st *state, offset int64, src io.Reader) (int64, error) {
	if st.Complete {
		return 0, ronghe.Errorf(ronghe.ECONFLICT, "the upload is already complete")
	}
	if offset != st.Info.Offset {
		return 0, handler.ErrMismatchOffset
	}
	c, err := envelope.OpenChunkCipher(ctx, s.kek, st.Header)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	h, err := restoreHash(st.Suite, st.HashState)
	if err != nil {
		return 0, err
	}
	f, err := os.OpenFile(s.binPath(st.Info.ID), os.O_WRONLY, 0)
	if err != nil {
		return 0, fmt.Errorf("upload: open data file: %w", err)
	}
	defer f.Close()
	// GetUpload made the file exactly what st describes; check rather than
	// trust, because appending at the wrong place would corrupt the envelope.
	start := sealedLen(st)
	if fi, err := f.Stat(); err != nil {
		return 0, fmt.Errorf("upload: stat data file: %w", err)
	} else if fi.Size() != start {
		return 0, ronghe.Errorf(ronghe.EINTERNAL, "data file of upload %s is %d bytes, its state says %d", st.Info.ID, fi.Size(), start)
	}
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return 0, fmt.Errorf("upload: seek data file: %w", err)
	}

	began := time.Now()
	p := s.newPipeline(st, c, h, f, start)
	received, srcErr := p.feed(ctx, src, offset)
	done, pipeErr := p.close()
	closed := time.Now()
	defer func() { p.logTimings(ctx, received, began, closed) }()

	// Commit what the pipeline wrote: fsync the data, then the state. A
	// crash between the two leaves data beyond the state, which recovery
	// verifies and adopts.
	var n int64
	if done.chunks > st.Chunks || done.complete {
		if err := f.Sync(); err != nil {
			return 0, fmt.Errorf("upload: sync data file: %w", err)
		}
		next := *st
		done.apply(&next)
		if err := s.writeState(&next, false); err != nil {
			return 0, err
		}
		n = next.Info.Offset - offset
		*st = next
	}
	if pipeErr != nil {
		return n, pipeErr
	}
	if srcErr != nil {
		return n, srcErr
	}
	if n == 0 && received > 0 {
		return 0, ErrPatchTooSmall
	}
	return n, nil
}

// logTimings logs where the PATCH's time went: at Info when it took at
// least patchLogMin (the large files whose rate matters), else at Debug.
func (p *pipeline) logTimings(ctx context.Context, received int64, began, closed time.Time) {
	end := time.Now()
	level := slog.LevelDebug
	if end.Sub(began) >= patchLogMin {
		level = slog.LevelInfo
	}
	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	p.s.log.Log(ctx, level, "upload: patch timings", "id", p.st.Info.ID, "suite", string(p.st.Suite),
		"bytes", received, "ms", ms(end.Sub(began)),
		"body_ms", ms(p.t.body), "free_wait_ms", ms(p.t.freeWait),
		"hash_ms", ms(p.t.hash), "seal_ms", ms(time.Duration(p.t.seal.Load())), "sealers", p.s.workers,
		"write_ms", ms(p.t.write), "flush_ms", ms(p.t.flush), "commit_ms", ms(end.Sub(closed)))
}

// job carries one chunk through the pipeline.
type job struct {
	seq    uint64
	last   bool
	plain  []byte // the chunk's plaintext
	sealed []byte // its ciphertext and tag
	hash   []byte // hash state after this chunk
	digest []byte // the final digest, for the last chunk
	err    error  // sealing or hashing error
	hashed chan struct{}
	ready  chan struct{}
}

// writebackBytes is how much the writer appends before it asks the kernel
// to start writing that range to the device (see flusher).
const writebackBytes = 8 << 20

// timings is where a PATCH's time went, per stage. The request goroutine's
// wait for the body (the client, TLS, HTTP/2) and for a free buffer (the
// stages behind it being slower) tell which side bounds the transfer; the
// others are busy times of the stages, the sealers' summed.
type timings struct {
	body, freeWait, hash, write, flush time.Duration
	seal                               atomic.Int64 // nanoseconds
}

// patchLogMin is how long a PATCH must take for its timings to be logged at
// Info rather than Debug.
const patchLogMin = time.Second

// flushReq is work for the flusher: start writing back a range of the file,
// or commit a checkpoint.
type flushReq struct {
	off, n     int64
	checkpoint *progress
}

// pipeline hashes, seals and writes chunks concurrently, in order.
type pipeline struct {
	s      *Store
	st     *state
	cipher *envelope.ChunkCipher
	f      *os.File
	start  int64 // file offset where this PATCH's first chunk goes

	free   chan *job     // buffers not in use
	hashQ  chan *job     // to the hasher, in order
	sealQ  chan *job     // to the sealers, any order
	orderQ chan *job     // to the writer, in order
	flushQ chan flushReq // to the flusher, in order; closed by the writer
	wg     sync.WaitGroup

	t timings // each field written by one goroutine; read after close

	mu   sync.Mutex
	err  error    // first failure of any stage
	done progress // last chunk written; owned by the writer until close
	next uint64   // sequence number of the next chunk to feed
}

func (s *Store) newPipeline(st *state, c *envelope.ChunkCipher, h hash.Hash, f *os.File, start int64) *pipeline {
	n := 2*s.workers + 4
	p := &pipeline{
		s: s, st: st, cipher: c, f: f, start: start,
		free:   make(chan *job, n),
		hashQ:  make(chan *job, n),
		sealQ:  make(chan *job, n),
		orderQ: make(chan *job, n),
		flushQ: make(chan flushReq, 4),
		done:   progress{chunks: st.Chunks, hash: st.HashState},
		next:   st.Chunks,
	}
	for range n {
		p.free <- &job{
			plain:  make([]byte, st.ChunkSize),
			sealed: make([]byte, 0, st.ChunkSize+c.Overhead()),
			hashed: make(chan struct{}, 1),
			ready:  make(chan struct{}, 1),
		}
	}
	p.wg.Go(func() { p.hasher(h) })
	for range s.workers {
		p.wg.Go(p.sealer)
	}
	p.wg.Go(p.writer)
	p.wg.Go(p.flusher)
	return p
}

// fail records the first error of the pipeline.
func (p *pipeline) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
}

func (p *pipeline) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// feed reads whole chunks from src into the pipeline until src ends, the
// upload is complete or a stage fails. It returns how many bytes it read,
// including a discarded partial chunk, and src's error other than EOF.
func (p *pipeline) feed(ctx context.Context, src io.Reader, offset int64) (int64, error) {
	size := p.st.Info.Size
	pos := offset
	var received int64
	for p.failed() == nil {
		var j *job
		t0 := time.Now()
		select {
		case j = <-p.free:
		case <-ctx.Done():
			p.fail(context.Cause(ctx))
			return received, nil
		}
		t1 := time.Now()
		want := int(min(int64(p.st.ChunkSize), size-pos))
		n, err := io.ReadFull(src, j.plain[:want])
		p.t.freeWait += t1.Sub(t0)
		p.t.body += time.Since(t1)
		received += int64(n)
		if err != nil { // n < want
			// The body ended inside a chunk that does not complete the
			// upload: drop it.
			p.free <- j
			if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				return received, err
			}
			return received, nil
		}
		j.plain = j.plain[:want]
		j.seq = p.next
		j.last = pos+int64(want) == size
		j.err = nil
		p.next++
		pos += int64(want)
		p.orderQ <- j
		p.hashQ <- j
		p.sealQ <- j
		if j.last {
			break
		}
	}
	return received, nil
}

// close waits for every fed chunk to be written, stops the goroutines and
// returns the progress made and the first error.
func (p *pipeline) close() (progress, error) {
	close(p.hashQ)
	close(p.sealQ)
	close(p.orderQ)
	p.wg.Wait()
	return p.done, p.failed()
}

// hasher absorbs the chunks' plaintext in order, saving the hash state
// after each so that any written chunk can become a durable point.
func (p *pipeline) hasher(h hash.Hash) {
	for j := range p.hashQ {
		if p.failed() == nil {
			t0 := time.Now()
			h.Write(j.plain)
			j.hash, j.err = marshalHash(h)
			if j.last && j.err == nil {
				j.digest = h.Sum(nil)
			}
			p.t.hash += time.Since(t0)
		}
		j.hashed <- struct{}{}
	}
}

// testHook, when a test sets it, runs before a stage ("seal", "checkpoint")
// handles chunk seq; an error it returns is that stage's failure.
var testHook func(stage string, seq uint64) error

// sealer encrypts chunks.
func (p *pipeline) sealer() {
	for j := range p.sealQ {
		if p.failed() == nil {
			var err error
			if testHook != nil {
				err = testHook("seal", j.seq)
			}
			if err == nil {
				t0 := time.Now()
				j.sealed, err = p.cipher.Seal(j.sealed[:0], j.plain, j.seq, j.last)
				p.t.seal.Add(int64(time.Since(t0)))
			}
			if err != nil {
				p.fail(err)
			}
		}
		j.ready <- struct{}{}
	}
}

// writer appends sealed chunks to the file in order. Every writebackBytes it
// hands the range written to the flusher, and every CheckpointBytes the
// progress to commit; it never waits for the disk itself, so hashing and
// sealing go on while the flusher syncs.
func (p *pipeline) writer() {
	defer close(p.flushQ)
	var since int64
	pos, from := p.start, p.start // end of the data written; start of the range not yet handed on
	for j := range p.orderQ {
		<-j.ready
		<-j.hashed
		if p.failed() == nil {
			if j.err != nil {
				p.fail(j.err)
			} else if err := p.write(j.sealed); err != nil {
				p.fail(fmt.Errorf("upload: write data file: %w", err))
			} else {
				p.done = progress{chunks: j.seq + 1, hash: j.hash, complete: j.last, digest: j.digest}
				pos += int64(len(j.sealed))
				since += int64(len(j.plain))
				if since >= p.s.checkpoint && !j.last {
					cp := p.done
					p.flushQ <- flushReq{checkpoint: &cp}
					since = 0
				}
				if pos-from >= writebackBytes && !j.last {
					// Never wait for the flusher here: a range it
					// misses is handed on with the next one.
					select {
					case p.flushQ <- flushReq{off: from, n: pos - from}:
						from = pos
					default:
					}
				}
			}
		}
		j.plain = j.plain[:cap(j.plain)]
		p.free <- j
	}
}

// write appends b to the file, timing it.
func (p *pipeline) write(b []byte) error {
	t0 := time.Now()
	_, err := p.f.Write(b)
	p.t.write += time.Since(t0)
	return err
}

// flusher starts writeback of the ranges the writer appended, so that the
// page cache does not fill with gigabytes of dirty data that the next fsync
// would then write while the pipeline waits, and commits checkpoints: the
// fsync and the state file are written here while the writer goes on
// appending (fsync covers at least what was written before it was called,
// and the checkpoint claims no more than that).
func (p *pipeline) flusher() {
	for r := range p.flushQ {
		if p.failed() != nil {
			continue
		}
		t0 := time.Now()
		if r.checkpoint != nil {
			if err := p.checkpoint(*r.checkpoint); err != nil {
				p.fail(err)
			}
		} else {
			// Advisory: an error here shows up again at the next fsync.
			_ = startWriteback(p.f, r.off, r.n)
		}
		p.t.flush += time.Since(t0)
	}
}

// checkpoint makes the progress cp durable in the middle of a PATCH, so that
// recovery after a crash has little to re-read.
func (p *pipeline) checkpoint(cp progress) error {
	if testHook != nil {
		if err := testHook("checkpoint", cp.chunks-1); err != nil {
			return err
		}
	}
	if err := p.f.Sync(); err != nil {
		return fmt.Errorf("upload: sync data file: %w", err)
	}
	next := *p.st
	cp.apply(&next)
	return p.s.writeState(&next, false)
}
