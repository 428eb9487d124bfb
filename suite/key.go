//lint:file-ignore SA1019 SM2 keys are ecdsa.PublicKey values on gmsm's curve, which crypto/ecdh and the new encoders do not know; X and Y are the only way to reach the point.

package suite

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"fmt"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/ronghe/ronghe"
)

// DefaultSM2ID is the SM2 distinguishing identifier (user ID) every GM
// signature is made and checked with: the default of GB/T 35276 and RFC 8998.
const DefaultSM2ID = "1234567812345678"

// Ed25519SignatureSize is the length of an INTL signature.
const Ed25519SignatureSize = ed25519.SignatureSize

// MaxSM2SignatureSize is the longest DER encoding of an SM2 signature: a
// SEQUENCE of two INTEGERs of at most 33 bytes each.
const MaxSM2SignatureSize = 72

// PEM block types read and written by this package.
const (
	pemPublicKey    = "PUBLIC KEY"
	pemPrivateKey   = "PRIVATE KEY"
	pemECPrivateKey = "EC PRIVATE KEY"
	pemSM2PrivKey   = "SM2 PRIVATE KEY"
)

// fingerprintLen is how many bytes of the SPKI digest a Fingerprint keeps.
const fingerprintLen = 16

// sm2SignerOpts selects GB/T 32918.2 signing of the raw message with the
// default distinguishing ID: the message is hashed as SM3(Z_A || M) inside sm2.
var sm2SignerOpts = sm2.NewSM2SignerOption(true, []byte(DefaultSM2ID))

// Signer signs messages with one registered private key. Implementations are
// safe for concurrent use.
type Signer interface {
	// Suite reports the suite the key belongs to.
	Suite() ronghe.Suite
	// PublicKey returns the public half, which verifies what Sign produces.
	PublicKey() *PublicKey
	// Sign signs msg: SM2 over SM3 with ID 1234567812345678, DER-encoded, for
	// GM; a raw 64-byte Ed25519 signature for INTL.
	Sign(msg []byte) ([]byte, error)
	// CryptoSigner exposes the key as a standard crypto.Signer (an
	// *sm2.PrivateKey or an ed25519.PrivateKey) so that x509 code can issue
	// certificates and TLS can use it.
	CryptoSigner() crypto.Signer
}

// PublicKey is a verified public key of one suite: an SM2 point for GM, an
// Ed25519 key for INTL. Its zero value is not usable; obtain one from
// ParsePublicKeyPEM, ParsePublicKeyDER, NewPublicKey or Signer.PublicKey.
// A PublicKey is immutable and safe for concurrent use.
type PublicKey struct {
	suite       ronghe.Suite
	sm2         *ecdsa.PublicKey  // GM
	ed          ed25519.PublicKey // INTL
	der         []byte            // PKIX SubjectPublicKeyInfo
	fingerprint string
}

// NewPublicKey wraps a standard public key: an *ecdsa.PublicKey on the SM2
// curve (as smx509 returns for GM certificates) or an ed25519.PublicKey. Any
// other type or curve is an ronghe.EUNSUPPORTED error.
func NewPublicKey(pub crypto.PublicKey) (*PublicKey, error) {
	switch pub := pub.(type) {
	case *ecdsa.PublicKey:
		if pub == nil || !sm2.IsSM2PublicKey(pub) {
			return nil, ronghe.Errorf(ronghe.EUNSUPPORTED, "unsupported public key: ECDSA key not on the SM2 curve")
		}
		if pub.X == nil || pub.Y == nil || !pub.Curve.IsOnCurve(pub.X, pub.Y) {
			return nil, ronghe.Errorf(ronghe.EINVALID, "invalid SM2 public key: point not on curve")
		}
		cp := &ecdsa.PublicKey{Curve: pub.Curve, X: pub.X, Y: pub.Y}
		return newPublicKey(ronghe.SuiteGM, cp, nil)
	case ed25519.PublicKey:
		if len(pub) != ed25519.PublicKeySize {
			return nil, ronghe.Errorf(ronghe.EINVALID, "invalid Ed25519 public key: %d bytes", len(pub))
		}
		return newPublicKey(ronghe.SuiteINTL, nil, bytes.Clone(pub))
	case *sm2.PrivateKey, ed25519.PrivateKey:
		return nil, ronghe.Errorf(ronghe.EINVALID, "a private key was given where a public key belongs")
	}
	return nil, ronghe.Errorf(ronghe.EUNSUPPORTED, "unsupported public key type %T: want SM2 or Ed25519", pub)
}

func newPublicKey(s ronghe.Suite, sm2Key *ecdsa.PublicKey, edKey ed25519.PublicKey) (*PublicKey, error) {
	k := &PublicKey{suite: s, sm2: sm2Key, ed: edKey}
	var err error
	if k.der, err = smx509.MarshalPKIXPublicKey(k.CryptoPublicKey()); err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, "cannot encode public key")
	}
	sum := Digest(s, k.der)
	prefix := "gm:"
	if s == ronghe.SuiteINTL {
		prefix = "intl:"
	}
	k.fingerprint = prefix + hex.EncodeToString(sum[:fingerprintLen])
	return k, nil
}

// Suite reports which suite the key belongs to.
func (k *PublicKey) Suite() ronghe.Suite { return k.suite }

// CryptoPublicKey returns the key as a standard crypto.PublicKey (an
// *ecdsa.PublicKey on the SM2 curve or an ed25519.PublicKey) for x509 use.
// The caller must not modify it.
func (k *PublicKey) CryptoPublicKey() crypto.PublicKey {
	if k.suite == ronghe.SuiteGM {
		return k.sm2
	}
	return k.ed
}

// Verify checks sig over msg. It returns nil for a valid signature and an
// ronghe.EINTEGRITY error for any signature that does not verify, including
// malformed ones. GM signatures must be DER-encoded SM2 (r, s) over SM3 with
// ID 1234567812345678; INTL signatures are 64-byte Ed25519.
func (k *PublicKey) Verify(msg, sig []byte) error {
	if k == nil || (k.sm2 == nil && k.ed == nil) {
		return ronghe.Errorf(ronghe.EINVALID, "verify with an empty public key")
	}
	var ok bool
	switch k.suite {
	case ronghe.SuiteGM:
		ok = len(sig) <= MaxSM2SignatureSize && sm2.VerifyASN1WithSM2(k.sm2, []byte(DefaultSM2ID), msg, sig)
	case ronghe.SuiteINTL:
		ok = len(sig) == ed25519.SignatureSize && ed25519.Verify(k.ed, msg, sig)
	}
	if !ok {
		return ronghe.Errorf(ronghe.EINTEGRITY, "%s signature does not verify with key %s", k.suite, k.fingerprint)
	}
	return nil
}

// Fingerprint returns the key's stable identifier: "gm:" or "intl:" followed
// by the hex of the first 16 bytes of the suite's hash (SM3 or SHA-256) over
// the DER SubjectPublicKeyInfo. It is what ledgers and logs record.
func (k *PublicKey) Fingerprint() string { return k.fingerprint }

// String returns the fingerprint, so that logging a key never prints it whole.
func (k *PublicKey) String() string { return k.fingerprint }

// Equal reports whether k and other are the same key of the same suite.
func (k *PublicKey) Equal(other *PublicKey) bool {
	if k == nil || other == nil {
		return k == other
	}
	return k.suite == other.suite && bytes.Equal(k.der, other.der)
}

// MarshalPKIX returns the DER SubjectPublicKeyInfo of the key. The caller owns
// the returned slice.
func (k *PublicKey) MarshalPKIX() []byte { return bytes.Clone(k.der) }

// MarshalPEM returns the key as a PEM "PUBLIC KEY" block holding the PKIX
// SubjectPublicKeyInfo: id-ecPublicKey with the SM2 curve (1.2.156.10197.1.301)
// for GM, id-Ed25519 for INTL. OpenSSL 3 reads both.
func (k *PublicKey) MarshalPEM() ([]byte, error) {
	if k == nil || len(k.der) == 0 {
		return nil, ronghe.Errorf(ronghe.EINVALID, "marshal an empty public key")
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublicKey, Bytes: k.der}), nil
}

// ParsePublicKeyPEM parses one PEM "PUBLIC KEY" block (PKIX
// SubjectPublicKeyInfo) and detects the suite from its algorithm: an SM2-curve
// EC key is GM, an Ed25519 key is INTL. Text before the block is ignored; a
// second PEM block is rejected as ambiguous. Malformed input is an
// ronghe.EINVALID error and a well-formed key of another algorithm (RSA,
// NIST P-256, ...) is ronghe.EUNSUPPORTED.
func ParsePublicKeyPEM(b []byte) (*PublicKey, error) {
	block, err := decodeOnePEM(b)
	if err != nil {
		return nil, err
	}
	if block.Type != pemPublicKey {
		return nil, ronghe.Errorf(ronghe.EINVALID, "PEM block is %q, want %q", block.Type, pemPublicKey)
	}
	return ParsePublicKeyDER(block.Bytes)
}

// ParsePublicKeyDER parses a DER PKIX SubjectPublicKeyInfo, as found in a
// certificate or a PEM "PUBLIC KEY" block, with the same rules as
// ParsePublicKeyPEM.
func ParsePublicKeyDER(der []byte) (*PublicKey, error) {
	pub, err := smx509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, "malformed public key: not a PKIX SubjectPublicKeyInfo")
	}
	return NewPublicKey(pub)
}

// GenerateKey returns a new random key of suite s from crypto/rand.
func GenerateKey(s ronghe.Suite) (Signer, error) {
	switch s {
	case ronghe.SuiteGM:
		priv, err := sm2.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("suite: generate SM2 key: %w", err)
		}
		return newSM2Signer(priv)
	case ronghe.SuiteINTL:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("suite: generate Ed25519 key: %w", err)
		}
		return newEd25519Signer(priv)
	}
	return nil, Check(s)
}

// NewSigner wraps an existing private key: an *sm2.PrivateKey, an
// *ecdsa.PrivateKey on the SM2 curve, or an ed25519.PrivateKey (or a pointer
// to one). Other keys are an ronghe.EUNSUPPORTED error.
func NewSigner(priv crypto.PrivateKey) (Signer, error) {
	switch priv := priv.(type) {
	case *sm2.PrivateKey:
		if priv == nil {
			break
		}
		return newSM2Signer(priv)
	case *ecdsa.PrivateKey:
		if priv == nil || !sm2.IsSM2PublicKey(&priv.PublicKey) {
			return nil, ronghe.Errorf(ronghe.EUNSUPPORTED, "unsupported private key: ECDSA key not on the SM2 curve")
		}
		k, err := new(sm2.PrivateKey).FromECPrivateKey(priv)
		if err != nil {
			return nil, ronghe.WrapError(ronghe.EINVALID, err, "invalid SM2 private key")
		}
		return newSM2Signer(k)
	case ed25519.PrivateKey:
		return newEd25519Signer(priv)
	case *ed25519.PrivateKey:
		if priv == nil {
			break
		}
		return newEd25519Signer(*priv)
	}
	return nil, ronghe.Errorf(ronghe.EUNSUPPORTED, "unsupported private key type %T: want SM2 or Ed25519", priv)
}

// MarshalPrivateKeyPEM encodes the signer's key as an unencrypted PKCS #8
// "PRIVATE KEY" PEM block. Protect the result: it is the key itself.
func MarshalPrivateKeyPEM(s Signer) ([]byte, error) {
	if s == nil {
		return nil, ronghe.Errorf(ronghe.EINVALID, "marshal a nil signer")
	}
	der, err := smx509.MarshalPKCS8PrivateKey(s.CryptoSigner())
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EUNSUPPORTED, err, "cannot encode private key as PKCS #8")
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), nil
}

// ParsePrivateKeyPEM parses a private key: a PKCS #8 "PRIVATE KEY" block (what
// MarshalPrivateKeyPEM and `openssl genpkey` write) holding an SM2 or Ed25519
// key, or a SEC 1 "EC PRIVATE KEY" or "SM2 PRIVATE KEY" block on the SM2
// curve (what `openssl ec` writes for an SM2 key). Encrypted keys are not
// accepted. Errors follow ParsePublicKeyPEM.
func ParsePrivateKeyPEM(b []byte) (Signer, error) {
	block, err := decodeOnePEM(b)
	if err != nil {
		return nil, err
	}
	if _, encrypted := block.Headers["Proc-Type"]; encrypted {
		return nil, ronghe.Errorf(ronghe.EUNSUPPORTED, "encrypted PEM private keys are not supported")
	}
	var key any
	switch block.Type {
	case pemPrivateKey:
		key, err = smx509.ParsePKCS8PrivateKey(block.Bytes)
	case pemECPrivateKey, pemSM2PrivKey:
		key, err = smx509.ParseTypedECPrivateKey(block.Bytes)
	default:
		return nil, ronghe.Errorf(ronghe.EINVALID, "PEM block is %q, want %q", block.Type, pemPrivateKey)
	}
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, "malformed private key")
	}
	return NewSigner(key)
}

// decodeOnePEM returns the only PEM block in b.
func decodeOnePEM(b []byte) (*pem.Block, error) {
	block, rest := pem.Decode(b)
	if block == nil {
		return nil, ronghe.Errorf(ronghe.EINVALID, "no PEM block found")
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, ronghe.Errorf(ronghe.EINVALID, "more than one PEM block")
	}
	return block, nil
}

// sm2Signer signs with an SM2 private key.
type sm2Signer struct {
	priv *sm2.PrivateKey
	pub  *PublicKey
}

func newSM2Signer(priv *sm2.PrivateKey) (*sm2Signer, error) {
	if priv.D == nil || priv.D.Sign() <= 0 || priv.D.Cmp(priv.Curve.Params().N) >= 0 {
		return nil, ronghe.Errorf(ronghe.EINVALID, "invalid SM2 private key: scalar out of range")
	}
	pub, err := NewPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	return &sm2Signer{priv: priv, pub: pub}, nil
}

// Suite implements Signer.
func (s *sm2Signer) Suite() ronghe.Suite { return ronghe.SuiteGM }

// PublicKey implements Signer.
func (s *sm2Signer) PublicKey() *PublicKey { return s.pub }

// CryptoSigner implements Signer.
func (s *sm2Signer) CryptoSigner() crypto.Signer { return s.priv }

// Sign implements Signer: SM2 over SM3(Z_A || msg) with the default ID, DER-encoded.
func (s *sm2Signer) Sign(msg []byte) ([]byte, error) {
	sig, err := s.priv.Sign(rand.Reader, msg, sm2SignerOpts)
	if err != nil {
		return nil, fmt.Errorf("suite: SM2 sign: %w", err)
	}
	return sig, nil
}

// ed25519Signer signs with an Ed25519 private key.
type ed25519Signer struct {
	priv ed25519.PrivateKey
	pub  *PublicKey
}

func newEd25519Signer(priv ed25519.PrivateKey) (*ed25519Signer, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, ronghe.Errorf(ronghe.EINVALID, "invalid Ed25519 private key: %d bytes", len(priv))
	}
	// Recompute the public half from the seed rather than trusting the
	// second half of the 64-byte key.
	priv = ed25519.NewKeyFromSeed(priv.Seed())
	pub, err := NewPublicKey(priv.Public())
	if err != nil {
		return nil, err
	}
	return &ed25519Signer{priv: priv, pub: pub}, nil
}

// Suite implements Signer.
func (s *ed25519Signer) Suite() ronghe.Suite { return ronghe.SuiteINTL }

// PublicKey implements Signer.
func (s *ed25519Signer) PublicKey() *PublicKey { return s.pub }

// CryptoSigner implements Signer.
func (s *ed25519Signer) CryptoSigner() crypto.Signer { return s.priv }

// Sign implements Signer: pure Ed25519 over msg.
func (s *ed25519Signer) Sign(msg []byte) ([]byte, error) {
	return ed25519.Sign(s.priv, msg), nil
}
