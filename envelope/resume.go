package envelope

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"fmt"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/suite"
)

// ChunkCipher seals and opens the chunks of one envelope one at a time, by
// index. It is the low-level form of NewWriter and NewReader for a producer
// that must stop and resume at chunk boundaries across process restarts —
// the resumable upload store: it persists Header() once, appends
// Seal(…, i, last) for chunk i as data arrives, and after a restart gets the
// same cipher back with OpenChunkCipher(header). The bytes it produces,
// header followed by chunks 0..n-1 with only chunk n-1 sealed as last, are
// exactly what NewWriter writes and NewReader reads (see FORMAT.md).
//
// A ChunkCipher holds the unwrapped data key; call Close to wipe it. Seal and
// Open may be called from several goroutines at once. The caller is
// responsible for never sealing two different plaintexts under the same
// index and flag: that would reuse a GCM nonce.
type ChunkCipher struct {
	header    []byte
	prefix    [NoncePrefixSize]byte
	suite     ronghe.Suite
	chunkSize int
	dek       []byte
	aead      cipher.AEAD
}

// NewChunkCipher starts a new envelope like NewWriter does — a random data
// key for suite s wrapped by kek, a random nonce prefix — but writes
// nothing: the caller stores Header() and then the sealed chunks. Of the
// options only WithChunkSize applies.
func NewChunkCipher(ctx context.Context, kek KEK, s ronghe.Suite, opts ...Option) (*ChunkCipher, error) {
	if err := suite.Check(s); err != nil {
		return nil, err
	}
	if kek == nil {
		return nil, ronghe.Errorf(ronghe.EINVALID, "no KEK given")
	}
	o := options{chunkSize: DefaultChunkSize, workers: 1}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
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
	return newChunkCipher(&h, header, dek)
}

// OpenChunkCipher returns the cipher of the envelope whose encoded header is
// header (exactly the header, as Header() returned it), unwrapping its data
// key with kek. A header that does not parse, or names another KEK, or whose
// key does not unwrap, is an error; the code is that of ParseHeader or of
// kek.Unwrap.
func OpenChunkCipher(ctx context.Context, kek KEK, header []byte) (*ChunkCipher, error) {
	if kek == nil {
		return nil, ronghe.Errorf(ronghe.EINVALID, "no KEK given")
	}
	h, n, err := ParseHeader(header)
	if err != nil {
		return nil, err
	}
	if n != len(header) {
		return nil, ronghe.Errorf(ronghe.EINTEGRITY, "envelope header has %d trailing bytes", len(header)-n)
	}
	if h.KEKID != kek.ID() {
		return nil, ronghe.Errorf(ronghe.EINTEGRITY, "envelope was sealed under KEK %q, not %q", h.KEKID, kek.ID())
	}
	dek, err := kek.Unwrap(ctx, h.WrappedDEK)
	if err != nil {
		return nil, fmt.Errorf("envelope: unwrap data key with KEK %q: %w", kek.ID(), err)
	}
	if len(dek) != suite.KeySize(h.Suite) {
		clear(dek)
		return nil, ronghe.Errorf(ronghe.EINTEGRITY, "unwrapped data key is %d bytes, %s needs %d", len(dek), h.Suite, suite.KeySize(h.Suite))
	}
	return newChunkCipher(h, append([]byte(nil), header...), dek)
}

func newChunkCipher(h *Header, header, dek []byte) (*ChunkCipher, error) {
	aead, err := suite.NewAEAD(h.Suite, dek)
	if err != nil {
		clear(dek)
		return nil, err
	}
	return &ChunkCipher{header: header, prefix: h.NoncePrefix, suite: h.Suite, chunkSize: h.ChunkSize, dek: dek, aead: aead}, nil
}

// Header returns the encoded envelope header, which precedes the chunks and
// is the associated data of each. The caller must not modify it.
func (c *ChunkCipher) Header() []byte { return c.header }

// Suite returns the suite whose AEAD seals the chunks.
func (c *ChunkCipher) Suite() ronghe.Suite { return c.suite }

// ChunkSize returns the plaintext length of every chunk but the last.
func (c *ChunkCipher) ChunkSize() int { return c.chunkSize }

// Overhead returns how many bytes sealing adds to a chunk (the GCM tag).
func (c *ChunkCipher) Overhead() int { return c.aead.Overhead() }

// SealedSize returns the stored length of an envelope of plaintextLen bytes,
// header included: every chunk adds Overhead() bytes, and an empty envelope
// still has one (empty, last) chunk.
func (c *ChunkCipher) SealedSize(plaintextLen int64) int64 {
	chunks := max(1, (plaintextLen+int64(c.chunkSize)-1)/int64(c.chunkSize))
	return int64(len(c.header)) + plaintextLen + chunks*int64(c.aead.Overhead())
}

// Seal appends to dst the sealed chunk number seq holding plaintext, which
// must be exactly ChunkSize() bytes unless last is set (then 0 to
// ChunkSize()). dst and plaintext may overlap exactly, as with cipher.AEAD.
func (c *ChunkCipher) Seal(dst, plaintext []byte, seq uint64, last bool) ([]byte, error) {
	if err := c.check(seq, len(plaintext), last); err != nil {
		return nil, err
	}
	var nb [suite.NonceSize]byte
	return c.aead.Seal(dst, nonce(&nb, &c.prefix, uint32(seq), last), plaintext, c.header), nil
}

// Open authenticates and decrypts sealed chunk number seq, appending the
// plaintext to dst. A chunk that was not sealed under this index and last
// flag by this envelope's key is an ronghe.EINTEGRITY error.
func (c *ChunkCipher) Open(dst, sealed []byte, seq uint64, last bool) ([]byte, error) {
	if len(sealed) < c.aead.Overhead() {
		return nil, ronghe.Errorf(ronghe.EINTEGRITY, "envelope chunk %d is shorter than its tag", seq)
	}
	if err := c.check(seq, len(sealed)-c.aead.Overhead(), last); err != nil {
		return nil, ronghe.WrapError(ronghe.EINTEGRITY, err, fmt.Sprintf("envelope chunk %d has a wrong length", seq))
	}
	var nb [suite.NonceSize]byte
	out, err := c.aead.Open(dst, nonce(&nb, &c.prefix, uint32(seq), last), sealed, c.header)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EINTEGRITY, err, fmt.Sprintf("envelope chunk %d does not authenticate", seq))
	}
	return out, nil
}

func (c *ChunkCipher) check(seq uint64, n int, last bool) error {
	if seq >= maxChunks {
		return ronghe.Errorf(ronghe.ETOOLARGE, "envelope exceeds %d chunks of %d bytes", uint64(maxChunks), c.chunkSize)
	}
	if n > c.chunkSize || (!last && n != c.chunkSize) {
		return ronghe.Errorf(ronghe.EINVALID, "chunk %d holds %d bytes; chunks hold %d, the last one at most that", seq, n, c.chunkSize)
	}
	return nil
}

// Close wipes the data key. The cipher must not be used afterwards.
func (c *ChunkCipher) Close() {
	clear(c.dek)
}
