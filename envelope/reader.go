package envelope

import (
	"bytes"
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/suite"
)

// Reader decrypts an envelope. It is what NewReader returns; see there. A
// Reader is not safe for concurrent use.
type Reader struct {
	ctx     context.Context
	src     io.Reader
	header  []byte
	prefix  [NoncePrefixSize]byte
	aeads   []cipher.AEAD           // one per decrypting goroutine
	nonces  [][suite.NonceSize]byte // one per decrypting goroutine
	ctLen   int                     // ciphertext length of a full chunk
	perRead int                     // chunks read from src per batch

	look    [1]byte // first byte of the next chunk, already read
	hasLook bool
	seq     uint64 // index of the next chunk to read from src
	srcDone bool   // the final chunk has been read, or src failed

	cur   *batch // being returned to the caller
	next  *batch // being decrypted in the background
	spare *batch // a consumed batch whose buffers can be reused
	plain []byte // authenticated plaintext not yet returned
	eof   bool   // the final chunk has been returned
	err   error  // sticky
}

// batch is a run of consecutive chunks read together and decrypted in
// parallel while the caller consumes the previous batch.
type batch struct {
	bufs    [][]byte // ciphertext read from src, then plaintext in place
	n       int      // chunks in use
	seqs    []uint64
	lasts   []bool
	plains  [][]byte
	errs    []error
	readErr error // what ended the batch early: src failure or truncation
	pos     int   // next chunk to return
	wg      sync.WaitGroup
}

// NewReader reads an envelope's header from src, unwraps its data key with
// kek and returns a reader of the plaintext.
//
// Every chunk is authenticated before any of its bytes are returned, and a
// stream that was truncated, extended, reordered, spliced from another
// envelope or altered in any byte, header included, fails with an
// ronghe.EINTEGRITY error, as does a KEK other than the one that wrapped the
// data key. Because chunks are returned as they are authenticated, a caller
// must not act on the plaintext as a whole until Read has returned io.EOF:
// only then is the stream known to be complete.
//
// With WithConcurrency above 1 (the default on a multi-core machine) the
// reader decrypts the next few chunks on other goroutines while the caller
// consumes the current ones; src is only ever read from the caller's
// goroutine, and background work ends by itself within one batch, so a
// reader that is abandoned part-way leaks nothing. WithChunkSize is ignored:
// the header says how large the chunks are.
func NewReader(ctx context.Context, src io.Reader, kek KEK, opts ...Option) (io.Reader, error) {
	if kek == nil {
		return nil, ronghe.Errorf(ronghe.EINVALID, "no KEK given")
	}
	return newReader(ctx, src, singleKEK{kek}, opts...)
}

func newReader(ctx context.Context, src io.Reader, ring Keyring, opts ...Option) (*Reader, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	h, header, err := readHeader(src)
	if err != nil {
		return nil, err
	}
	kek, err := ring.Lookup(ctx, h.KEKID)
	if err != nil {
		return nil, err
	}
	dek, err := kek.Unwrap(ctx, h.WrappedDEK)
	if err != nil {
		return nil, fmt.Errorf("envelope: unwrap data key with KEK %q: %w", kek.ID(), err)
	}
	defer clear(dek)
	if len(dek) != suite.KeySize(h.Suite) {
		return nil, ronghe.Errorf(ronghe.EINTEGRITY, "data key is %d bytes, %s needs %d", len(dek), h.Suite, suite.KeySize(h.Suite))
	}
	r := &Reader{
		ctx: ctx, src: src, header: header, prefix: h.NoncePrefix,
		ctLen: h.ChunkSize + suite.TagSize, perRead: 1,
	}
	if o.workers > 1 {
		r.perRead = o.workers
	}
	r.aeads = make([]cipher.AEAD, o.workers)
	r.nonces = make([][suite.NonceSize]byte, o.workers)
	for i := range r.aeads {
		if r.aeads[i], err = suite.NewAEAD(h.Suite, dek); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Read returns authenticated plaintext; see NewReader.
func (r *Reader) Read(p []byte) (int, error) {
	for len(r.plain) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.eof {
			return 0, io.EOF
		}
		if len(p) == 0 {
			return 0, nil
		}
		r.err = r.advance()
	}
	n := copy(p, r.plain)
	r.plain = r.plain[n:]
	return n, nil
}

// WriteTo writes the whole plaintext to w; io.Copy uses it. It stops at the
// first error, which is an ronghe.EINTEGRITY error if the envelope is bad.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(r.plain) > 0 {
			n, err := w.Write(r.plain)
			total += int64(n)
			r.plain = r.plain[n:]
			if err == nil && len(r.plain) > 0 {
				err = io.ErrShortWrite
			}
			if err != nil {
				return total, err
			}
		}
		if r.err != nil {
			return total, r.err
		}
		if r.eof {
			return total, nil
		}
		r.err = r.advance()
	}
}

// advance makes the next authenticated chunk the current plaintext.
func (r *Reader) advance() error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	for {
		if b := r.cur; b != nil {
			if b.pos < b.n {
				i := b.pos
				b.pos++
				if b.errs[i] != nil {
					return b.errs[i]
				}
				r.plain, r.eof = b.plains[i], b.lasts[i]
				return nil
			}
			if b.readErr != nil {
				return b.readErr
			}
			r.cur, r.spare = nil, b
		}
		if r.next == nil {
			if r.srcDone {
				// Unreachable: the batch holding the final chunk sets eof.
				return ronghe.Errorf(ronghe.EINTERNAL, "envelope reader ran past the final chunk")
			}
			r.next = r.readBatch()
		}
		r.next.wg.Wait()
		r.cur, r.next = r.next, nil
		if !r.srcDone {
			// Read ahead now so its decryption overlaps the caller's use of cur.
			r.next = r.readBatch()
		}
	}
}

// readBatch reads up to perRead chunks from src and starts decrypting them:
// on background goroutines when the reader has several AEADs, inline
// otherwise. The chunk after which src ends is the final one.
func (r *Reader) readBatch() *batch {
	b := r.spare
	r.spare = nil
	if b == nil {
		b = &batch{
			bufs:   make([][]byte, r.perRead),
			seqs:   make([]uint64, r.perRead),
			lasts:  make([]bool, r.perRead),
			plains: make([][]byte, r.perRead),
			errs:   make([]error, r.perRead),
		}
	}
	b.n, b.pos, b.readErr = 0, 0, nil
	for b.n < r.perRead && !r.srcDone {
		if b.bufs[b.n] == nil {
			b.bufs[b.n] = make([]byte, r.ctLen+1)
		}
		buf, last, err := r.readChunk(b.bufs[b.n])
		if err != nil {
			b.readErr, r.srcDone = err, true
			break
		}
		b.plains[b.n], b.errs[b.n] = buf, nil
		b.seqs[b.n], b.lasts[b.n] = r.seq, last
		b.n++
		r.seq++
		if last {
			r.srcDone = true
		}
	}
	workers := min(len(r.aeads), b.n)
	if workers <= 1 {
		for i := range b.n {
			r.open(0, b, i)
		}
		return b
	}
	for w := range workers {
		b.wg.Go(func() {
			for i := w; i < b.n; i += workers {
				r.open(w, b, i)
			}
		})
	}
	return b
}

// open authenticates and decrypts chunk i of b in place with the AEAD and
// nonce buffer of worker w. At most one batch is being decrypted at a time,
// so each worker's buffers have one user.
func (r *Reader) open(w int, b *batch, i int) {
	ct := b.plains[i]
	n := nonce(&r.nonces[w], &r.prefix, uint32(b.seqs[i]), b.lasts[i])
	pt, err := r.aeads[w].Open(ct[:0], n, ct, r.header)
	if err != nil {
		b.plains[i] = nil
		b.errs[i] = ronghe.WrapError(ronghe.EINTEGRITY, err,
			fmt.Sprintf("encrypted blob is corrupt, truncated or reordered: chunk %d does not authenticate", b.seqs[i]))
		return
	}
	b.plains[i] = pt
}

// readChunk reads one ciphertext chunk into buf (capacity ctLen+1) and
// reports whether it is the final one, which one byte of look-ahead tells: a
// full chunk is final only if src ends right after it, and a shorter chunk
// is always final.
func (r *Reader) readChunk(buf []byte) ([]byte, bool, error) {
	if r.seq >= maxChunks {
		return nil, false, ronghe.Errorf(ronghe.EINTEGRITY, "encrypted blob has more than %d chunks", uint64(maxChunks))
	}
	buf = buf[:r.ctLen+1]
	have := 0
	if r.hasLook {
		buf[0] = r.look[0]
		have = 1
	}
	n, err := io.ReadFull(r.src, buf[have:])
	total := have + n
	switch {
	case err == nil:
		r.look[0], r.hasLook = buf[r.ctLen], true
		return buf[:r.ctLen], false, nil
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		r.hasLook = false
		if total < suite.TagSize {
			return nil, false, ronghe.Errorf(ronghe.EINTEGRITY, "encrypted blob is truncated at chunk %d", r.seq)
		}
		return buf[:total], true, nil
	default:
		return nil, false, fmt.Errorf("envelope: read: %w", err)
	}
}

// Seal encrypts plaintext into a complete envelope in memory: a convenience
// for small blobs such as evidence records.
func Seal(ctx context.Context, kek KEK, s ronghe.Suite, plaintext []byte, opts ...Option) ([]byte, error) {
	var out bytes.Buffer
	out.Grow(len(plaintext) + len(plaintext)/DefaultChunkSize*suite.TagSize + 512)
	w, err := newWriter(ctx, &out, kek, s, opts...)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plaintext); err != nil {
		w.Close()
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Open decrypts a complete envelope held in memory, with the guarantees of
// NewReader; nothing is returned unless the whole envelope authenticates.
func Open(ctx context.Context, kek KEK, envelope []byte) ([]byte, error) {
	if kek == nil {
		return nil, ronghe.Errorf(ronghe.EINVALID, "no KEK given")
	}
	r, err := newReader(ctx, bytes.NewReader(envelope), singleKEK{kek})
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(len(envelope))
	if _, err := r.WriteTo(&out); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
