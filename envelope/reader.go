package envelope

import (
	"bytes"
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/suite"
)

// Reader decrypts an envelope. It is what NewReader returns; see there. A
// Reader is not safe for concurrent use.
type Reader struct {
	ctx    context.Context
	src    io.Reader
	header []byte
	prefix [NoncePrefixSize]byte
	aead   cipher.AEAD
	ctLen  int // ciphertext length of a full chunk
	nb     [suite.NonceSize]byte

	buf   []byte // one full ciphertext chunk and one byte of look-ahead
	carry bool   // buf[ctLen] holds the first byte of the next chunk
	plain []byte // authenticated plaintext not yet returned
	seq   uint64 // index of the next chunk
	eof   bool   // the last chunk has been authenticated
	err   error  // sticky
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
func NewReader(ctx context.Context, src io.Reader, kek KEK) (io.Reader, error) {
	return newReader(ctx, src, kek)
}

func newReader(ctx context.Context, src io.Reader, kek KEK) (*Reader, error) {
	if kek == nil {
		return nil, ronghe.Errorf(ronghe.EINVALID, "no KEK given")
	}
	h, header, err := readHeader(src)
	if err != nil {
		return nil, err
	}
	if h.KEKID != kek.ID() {
		return nil, ronghe.Errorf(ronghe.EINTEGRITY, "encrypted blob was sealed under KEK %q, not %q", h.KEKID, kek.ID())
	}
	dek, err := kek.Unwrap(ctx, h.WrappedDEK)
	if err != nil {
		return nil, fmt.Errorf("envelope: unwrap data key with KEK %q: %w", kek.ID(), err)
	}
	defer clear(dek)
	if len(dek) != suite.KeySize(h.Suite) {
		return nil, ronghe.Errorf(ronghe.EINTEGRITY, "data key is %d bytes, %s needs %d", len(dek), h.Suite, suite.KeySize(h.Suite))
	}
	aead, err := suite.NewAEAD(h.Suite, dek)
	if err != nil {
		return nil, err
	}
	ctLen := h.ChunkSize + suite.TagSize
	return &Reader{
		ctx: ctx, src: src, header: header, prefix: h.NoncePrefix, aead: aead,
		ctLen: ctLen, buf: make([]byte, ctLen+1),
	}, nil
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
		r.err = r.next()
	}
	n := copy(p, r.plain)
	r.plain = r.plain[n:]
	return n, nil
}

// next reads, authenticates and decrypts one chunk into r.plain. A chunk is
// the last one exactly when nothing follows it, which the look-ahead byte
// tells; the flag in the nonce then makes a cut-off stream fail.
func (r *Reader) next() error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	have := 0
	if r.carry {
		r.buf[0] = r.buf[r.ctLen]
		have = 1
	}
	n, err := io.ReadFull(r.src, r.buf[have:])
	total := have + n
	last := false
	switch {
	case err == nil:
		r.carry = true
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		last, r.carry = true, false
	default:
		return fmt.Errorf("envelope: read: %w", err)
	}
	ct := r.buf[:min(total, r.ctLen)]
	if len(ct) < suite.TagSize {
		return ronghe.Errorf(ronghe.EINTEGRITY, "encrypted blob is truncated at chunk %d", r.seq)
	}
	if r.seq >= maxChunks {
		return ronghe.Errorf(ronghe.EINTEGRITY, "encrypted blob has more than %d chunks", uint64(maxChunks))
	}
	plain, err := r.aead.Open(ct[:0], nonce(&r.nb, &r.prefix, uint32(r.seq), last), ct, r.header)
	if err != nil {
		return ronghe.WrapError(ronghe.EINTEGRITY, err,
			fmt.Sprintf("encrypted blob is corrupt, truncated or reordered: chunk %d does not authenticate", r.seq))
	}
	r.seq++
	r.plain = plain
	r.eof = last
	return nil
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
		r.err = r.next()
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
	r, err := newReader(ctx, bytes.NewReader(envelope), kek)
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
