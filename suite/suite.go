// Package suite implements Ronghe's two cryptographic suites behind one API so
// that the rest of the platform never names an algorithm directly.
//
// [ronghe.SuiteGM] is China's commercial cryptography: SM2 signatures over SM3
// with the default distinguishing ID "1234567812345678" (GB/T 32918.2,
// GB/T 35276, RFC 8998), SM3 digests and SM4-GCM encryption, implemented with
// github.com/emmansun/gmsm. [ronghe.SuiteINTL] is Ed25519, SHA-256 and
// AES-256-GCM from the standard library.
//
// Keys travel as PEM: public keys as PKIX SubjectPublicKeyInfo ("PUBLIC KEY")
// and private keys as PKCS #8 ("PRIVATE KEY"), the forms OpenSSL 3 reads and
// writes, so an institution can produce and check every signature with stock
// tools (see OPENSSL.md in this directory).
package suite

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"fmt"
	"hash"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"

	"github.com/ronghe/ronghe"
)

// Key and digest sizes of the two suites, in bytes.
const (
	// GMKeySize is the SM4 key length used for SM4-GCM.
	GMKeySize = 16
	// INTLKeySize is the AES-256 key length used for AES-256-GCM.
	INTLKeySize = 32
	// DigestSize is the output length of both SM3 and SHA-256.
	DigestSize = 32
	// NonceSize is the GCM nonce length of the AEADs returned by NewAEAD.
	NonceSize = 12
	// TagSize is the GCM authentication tag length of the AEADs returned by NewAEAD.
	TagSize = 16
)

// Check returns nil if s is a suite the platform implements and an
// ronghe.EUNSUPPORTED error otherwise, so boundaries can reject unknown suites
// before any of the functions below that panic on them are reached.
func Check(s ronghe.Suite) error {
	if !s.Valid() {
		return ronghe.Errorf(ronghe.EUNSUPPORTED, "unsupported cryptographic suite %q", string(s))
	}
	return nil
}

// NewHash returns a new hash.Hash computing the suite's digest: SM3 for GM,
// SHA-256 for INTL. It panics if s is not a valid suite; that is a programming
// error, because suites are checked (see Check) where they enter the system.
func NewHash(s ronghe.Suite) hash.Hash {
	switch s {
	case ronghe.SuiteGM:
		return sm3.New()
	case ronghe.SuiteINTL:
		return sha256.New()
	}
	panic(fmt.Sprintf("suite: NewHash of unsupported suite %q", string(s)))
}

// Digest returns the suite's digest of b (SM3 or SHA-256). Like NewHash it
// panics if s is not a valid suite.
func Digest(s ronghe.Suite, b []byte) []byte {
	switch s {
	case ronghe.SuiteGM:
		d := sm3.Sum(b)
		return d[:]
	case ronghe.SuiteINTL:
		d := sha256.Sum256(b)
		return d[:]
	}
	panic(fmt.Sprintf("suite: Digest of unsupported suite %q", string(s)))
}

// KeySize returns the symmetric key length NewAEAD expects for s: 16 bytes for
// SM4 (GM), 32 for AES-256 (INTL), and 0 for an unsupported suite.
func KeySize(s ronghe.Suite) int {
	switch s {
	case ronghe.SuiteGM:
		return GMKeySize
	case ronghe.SuiteINTL:
		return INTLKeySize
	}
	return 0
}

// NewAEAD returns the suite's authenticated cipher keyed with key: SM4-GCM for
// GM (16-byte key) or AES-256-GCM for INTL (32-byte key), both with 12-byte
// nonces and 16-byte tags. The returned AEAD holds no mutable state after
// creation, so one value may be used from several goroutines.
func NewAEAD(s ronghe.Suite, key []byte) (cipher.AEAD, error) {
	if err := Check(s); err != nil {
		return nil, err
	}
	if len(key) != KeySize(s) {
		return nil, ronghe.Errorf(ronghe.EINVALID, "%s key must be %d bytes, not %d", s, KeySize(s), len(key))
	}
	var (
		block cipher.Block
		err   error
	)
	if s == ronghe.SuiteGM {
		block, err = sm4.NewCipher(key)
	} else {
		block, err = aes.NewCipher(key)
	}
	if err != nil {
		return nil, fmt.Errorf("suite: %s block cipher: %w", s, err)
	}
	// cipher.NewGCM uses gmsm's assembly SM4-GCM through the block's NewGCM
	// method where the CPU supports it, and the standard AES-GCM otherwise.
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("suite: %s GCM: %w", s, err)
	}
	return aead, nil
}
