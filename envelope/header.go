package envelope

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"

	"github.com/ronghe/ronghe"
)

// Magic opens every envelope; its last byte is the format version.
const Magic = "RONGHE-ENV\x01"

// magicPrefix is Magic without the version byte.
const magicPrefix = "RONGHE-ENV"

// Format limits.
const (
	// NoncePrefixSize is the per-blob random part of every chunk nonce.
	NoncePrefixSize = 7
	// DefaultChunkSize is the plaintext size of every chunk but the last.
	DefaultChunkSize = 64 << 10
	// MinChunkSize and MaxChunkSize bound the chunk size a header may
	// declare, which bounds a reader's memory.
	MinChunkSize = 1 << minChunkLog2
	MaxChunkSize = 1 << maxChunkLog2
	// MaxWrappedDEKLen bounds the wrapped data key a header may carry; KMS
	// ciphertexts are a few hundred bytes.
	MaxWrappedDEKLen = 4096

	minChunkLog2 = 8
	maxChunkLog2 = 22

	suiteCodeGM   = 0x01
	suiteCodeINTL = 0x02

	// fixedHeaderLen is magic, suite, chunk size, nonce prefix and KEK ID length.
	fixedHeaderLen = len(Magic) + 1 + 1 + NoncePrefixSize + 1
)

// Header is the plaintext head of an envelope: which suite encrypts the
// chunks, how large they are, which KEK wrapped the data key, the wrapped key
// itself and the nonce prefix. Its encoding is bound into every chunk as
// associated data, so changing any byte of it makes every chunk fail.
type Header struct {
	// Suite is the owner's suite: SM4-GCM for GM, AES-256-GCM for INTL.
	Suite ronghe.Suite
	// ChunkSize is the plaintext length of every chunk but the last, a power
	// of two from MinChunkSize to MaxChunkSize.
	ChunkSize int
	// KEKID names the KEK that wrapped the data key.
	KEKID string
	// WrappedDEK is the data key as the KEK wrapped it.
	WrappedDEK []byte
	// NoncePrefix is the random first part of every chunk's nonce.
	NoncePrefix [NoncePrefixSize]byte
}

// MarshalBinary encodes the header; see FORMAT.md.
func (h *Header) MarshalBinary() ([]byte, error) {
	var code byte
	switch h.Suite {
	case ronghe.SuiteGM:
		code = suiteCodeGM
	case ronghe.SuiteINTL:
		code = suiteCodeINTL
	default:
		return nil, ronghe.Errorf(ronghe.EUNSUPPORTED, "unsupported cryptographic suite %q", string(h.Suite))
	}
	log2, err := chunkLog2(h.ChunkSize)
	if err != nil {
		return nil, err
	}
	if err := checkKEKID(h.KEKID); err != nil {
		return nil, err
	}
	if len(h.WrappedDEK) == 0 || len(h.WrappedDEK) > MaxWrappedDEKLen {
		return nil, ronghe.Errorf(ronghe.EINVALID, "wrapped data key must be 1 to %d bytes, not %d", MaxWrappedDEKLen, len(h.WrappedDEK))
	}
	b := make([]byte, 0, fixedHeaderLen+len(h.KEKID)+2+len(h.WrappedDEK))
	b = append(b, Magic...)
	b = append(b, code, log2)
	b = append(b, h.NoncePrefix[:]...)
	b = append(b, byte(len(h.KEKID)))
	b = append(b, h.KEKID...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.WrappedDEK)))
	b = append(b, h.WrappedDEK...)
	return b, nil
}

// chunkLog2 checks a chunk size and returns its base-2 logarithm.
func chunkLog2(n int) (byte, error) {
	if n < MinChunkSize || n > MaxChunkSize || n&(n-1) != 0 {
		return 0, ronghe.Errorf(ronghe.EINVALID, "chunk size %d is not a power of two from %d to %d", n, MinChunkSize, MaxChunkSize)
	}
	return byte(bits.TrailingZeros(uint(n))), nil
}

// ParseHeader decodes the header at the start of b and returns it with its
// encoded length; the bytes after it are the chunks. Malformed input is an
// ronghe.EINTEGRITY error, and a format version this code does not know is
// ronghe.EUNSUPPORTED.
func ParseHeader(b []byte) (*Header, int, error) {
	if len(b) < fixedHeaderLen {
		if len(b) >= len(magicPrefix) && string(b[:len(magicPrefix)]) != magicPrefix {
			return nil, 0, errNotEnvelope
		}
		return nil, 0, errShortHeader
	}
	if err := checkMagic(b); err != nil {
		return nil, 0, err
	}
	h := new(Header)
	switch b[len(Magic)] {
	case suiteCodeGM:
		h.Suite = ronghe.SuiteGM
	case suiteCodeINTL:
		h.Suite = ronghe.SuiteINTL
	default:
		return nil, 0, ronghe.Errorf(ronghe.EINTEGRITY, "envelope header names unknown suite code %d", b[len(Magic)])
	}
	log2 := b[len(Magic)+1]
	if log2 < minChunkLog2 || log2 > maxChunkLog2 {
		return nil, 0, ronghe.Errorf(ronghe.EINTEGRITY, "envelope header chunk size 2^%d is out of range", log2)
	}
	h.ChunkSize = 1 << log2
	copy(h.NoncePrefix[:], b[len(Magic)+2:])
	idLen := int(b[fixedHeaderLen-1])
	if idLen == 0 {
		return nil, 0, ronghe.Errorf(ronghe.EINTEGRITY, "envelope header has an empty KEK ID")
	}
	rest := b[fixedHeaderLen:]
	if len(rest) < idLen+2 {
		return nil, 0, errShortHeader
	}
	h.KEKID = string(rest[:idLen])
	if err := checkKEKID(h.KEKID); err != nil {
		return nil, 0, ronghe.WrapError(ronghe.EINTEGRITY, err, "envelope header has a malformed KEK ID")
	}
	wrappedLen := int(binary.BigEndian.Uint16(rest[idLen:]))
	if wrappedLen == 0 || wrappedLen > MaxWrappedDEKLen {
		return nil, 0, ronghe.Errorf(ronghe.EINTEGRITY, "envelope header wrapped key length %d is out of range", wrappedLen)
	}
	rest = rest[idLen+2:]
	if len(rest) < wrappedLen {
		return nil, 0, errShortHeader
	}
	h.WrappedDEK = append([]byte(nil), rest[:wrappedLen]...)
	return h, fixedHeaderLen + idLen + 2 + wrappedLen, nil
}

var (
	errShortHeader = ronghe.Errorf(ronghe.EINTEGRITY, "encrypted blob is truncated inside its header")
	errNotEnvelope = ronghe.Errorf(ronghe.EINTEGRITY, "not an encrypted blob: bad magic")
)

func checkMagic(b []byte) error {
	if string(b[:len(magicPrefix)]) != magicPrefix {
		return errNotEnvelope
	}
	if v := b[len(magicPrefix)]; v != Magic[len(magicPrefix)] {
		return ronghe.Errorf(ronghe.EUNSUPPORTED, "envelope format version %d is not supported", v)
	}
	return nil
}

// ReadHeader reads exactly one header from r, leaving r at the first chunk,
// and returns it; tools use it to see which KEK a blob needs. Errors are those
// of ParseHeader, or r's own.
func ReadHeader(r io.Reader) (*Header, error) {
	h, _, err := readHeader(r)
	return h, err
}

// readHeader is ReadHeader that also returns the header's encoding, the
// associated data of every chunk.
func readHeader(r io.Reader) (*Header, []byte, error) {
	raw := make([]byte, fixedHeaderLen, fixedHeaderLen+MaxKEKIDLen+2+64)
	if err := readFull(r, raw); err != nil {
		return nil, nil, err
	}
	if err := checkMagic(raw); err != nil {
		return nil, nil, err
	}
	idLen := int(raw[fixedHeaderLen-1])
	raw = append(raw, make([]byte, idLen+2)...)
	if err := readFull(r, raw[fixedHeaderLen:]); err != nil {
		return nil, nil, err
	}
	wrappedLen := int(binary.BigEndian.Uint16(raw[len(raw)-2:]))
	if wrappedLen > MaxWrappedDEKLen {
		return nil, nil, ronghe.Errorf(ronghe.EINTEGRITY, "envelope header wrapped key length %d is out of range", wrappedLen)
	}
	n := len(raw)
	raw = append(raw, make([]byte, wrappedLen)...)
	if err := readFull(r, raw[n:]); err != nil {
		return nil, nil, err
	}
	h, used, err := ParseHeader(raw)
	if err != nil {
		return nil, nil, err
	}
	if used != len(raw) {
		// Cannot happen: readHeader and ParseHeader read the same fields.
		return nil, nil, fmt.Errorf("envelope: header length mismatch %d != %d", used, len(raw))
	}
	return h, raw, nil
}

// readFull reads len(b) bytes, reporting a short stream as a truncated header.
func readFull(r io.Reader, b []byte) error {
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return errShortHeader
		}
		return fmt.Errorf("envelope: read header: %w", err)
	}
	return nil
}
