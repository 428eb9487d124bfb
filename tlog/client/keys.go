//lint:file-ignore SA1019 SM2 keys are ecdsa.PublicKey values on gmsm's curve, which crypto/ecdh and the new encoders do not know; X and Y are the only way to reach the point.

package client

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm2"
	"golang.org/x/mod/sumdb/note"

	"github.com/ronghe/ronghe"
)

// Ed25519SignatureType is the C2SP signed-note signature type byte of plain
// Ed25519 note signatures (c2sp.org/signed-note, "0x01").
const Ed25519SignatureType byte = 0x01

// sm2TypeIdentifier follows the 0xff byte in SM2SignatureType.
const sm2TypeIdentifier = "ronghe/sm2-sm3/v1"

// SM2SignatureType is the signature type identifier of the SM2 co-signature on
// Ronghe checkpoints. The C2SP signed-note specification reserves type byte 0xff
// "for signature types without an identifier byte assigned by this
// specification" and recommends following it with a longer identifier unlikely
// to collide, so the identifier is 0xff followed by the ASCII text
// "ronghe/sm2-sm3/v1". It is what the key ID hashes and what the verifier key
// encodes in front of the public key:
//
//	key ID       = SHA-256(name || 0x0A || 0xff || "ronghe/sm2-sm3/v1" || 0x04 || X || Y)[:4]
//	verifier key = name "+" hex(key ID) "+" base64(0xff || "ronghe/sm2-sm3/v1" || 0x04 || X || Y)
//	signature    = ASN.1 DER SM2 signature (GB/T 32918.2) over the note text,
//	               SM3 digest with ZA computed for user ID "1234567812345678"
const SM2SignatureType = "\xff" + sm2TypeIdentifier

// SM2UserID is the SM2 distinguishing identifier used for note signatures, the
// GB/T 35276 default.
const SM2UserID = "1234567812345678"

// sm2PublicKeySize is the length of an uncompressed SM2 point, 0x04 || X || Y.
const sm2PublicKeySize = 65

// KeyHash computes a signed-note key ID the way golang.org/x/mod/sumdb/note
// does: the first four bytes, big-endian, of SHA-256 over the key name, a
// newline, and the typed public key (type identifier followed by the key).
func KeyHash(name string, typedKey []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte("\n"))
	h.Write(typedKey)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// ValidKeyName reports whether name can be a signed-note key name (and so a
// checkpoint origin): non-empty UTF-8 without spaces or plus signs.
func ValidKeyName(name string) bool {
	return name != "" && utf8.ValidString(name) &&
		strings.IndexFunc(name, unicode.IsSpace) < 0 && !strings.Contains(name, "+")
}

// MarshalSM2PublicKey encodes an SM2 public key as an uncompressed point
// (0x04 || X || Y, 65 bytes), the form used in verifier keys.
func MarshalSM2PublicKey(pub *ecdsa.PublicKey) ([]byte, error) {
	if pub == nil || pub.X == nil || pub.Y == nil || !sm2.IsSM2PublicKey(pub) {
		return nil, ronghe.Errorf(ronghe.EINVALID, "not an SM2 public key")
	}
	out := make([]byte, sm2PublicKeySize)
	out[0] = 4
	if !fits32(pub.X) || !fits32(pub.Y) {
		return nil, ronghe.Errorf(ronghe.EINVALID, "SM2 public key coordinates out of range")
	}
	pub.X.FillBytes(out[1:33])
	pub.Y.FillBytes(out[33:65])
	// Round-trip through the parser so an off-curve point is never published.
	if _, err := sm2.NewPublicKey(out); err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, "SM2 public key is not on the curve")
	}
	return out, nil
}

func fits32(n *big.Int) bool { return n.Sign() >= 0 && n.BitLen() <= 256 }

// SM2VerifierKey returns the signed-note verifier key text for an SM2 public
// key under the given key name (the log origin). Publish it next to the Ed25519
// verifier key so anyone can check checkpoints offline.
func SM2VerifierKey(name string, pub *ecdsa.PublicKey) (string, error) {
	if !ValidKeyName(name) {
		return "", ronghe.Errorf(ronghe.EINVALID, "invalid key name %q", name)
	}
	raw, err := MarshalSM2PublicKey(pub)
	if err != nil {
		return "", err
	}
	typed := append([]byte(SM2SignatureType), raw...)
	return fmt.Sprintf("%s+%08x+%s", name, KeyHash(name, typed), base64.StdEncoding.EncodeToString(typed)), nil
}

// Ed25519VerifierKey returns the standard signed-note verifier key text for an
// Ed25519 public key under the given key name (the log origin).
func Ed25519VerifierKey(name string, pub ed25519.PublicKey) (string, error) {
	if !ValidKeyName(name) {
		return "", ronghe.Errorf(ronghe.EINVALID, "invalid key name %q", name)
	}
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return "", ronghe.WrapError(ronghe.EINVALID, err, "invalid Ed25519 public key")
	}
	return vkey, nil
}

// splitVerifierKey splits "name+hash+base64key" and checks the key hash.
func splitVerifierKey(vkey string) (name string, hash uint32, typed []byte, err error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	hash16, key64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 || !ValidKeyName(name) || len(hash16) != 8 {
		return "", 0, nil, ronghe.Errorf(ronghe.EINVALID, "malformed verifier key")
	}
	h, err := strconv.ParseUint(hash16, 16, 32)
	if err != nil {
		return "", 0, nil, ronghe.Errorf(ronghe.EINVALID, "malformed verifier key hash")
	}
	typed, err = base64.StdEncoding.Strict().DecodeString(key64)
	if err != nil || len(typed) == 0 {
		return "", 0, nil, ronghe.Errorf(ronghe.EINVALID, "malformed verifier key encoding")
	}
	if uint32(h) != KeyHash(name, typed) {
		return "", 0, nil, ronghe.Errorf(ronghe.EINVALID, "verifier key hash does not match the key")
	}
	return name, uint32(h), typed, nil
}

// NewSM2Verifier parses an SM2 verifier key (see SM2VerifierKey) into a
// note.Verifier that checks SM2 co-signatures.
func NewSM2Verifier(vkey string) (note.Verifier, error) {
	name, hash, typed, err := splitVerifierKey(vkey)
	if err != nil {
		return nil, err
	}
	raw, ok := strings.CutPrefix(string(typed), SM2SignatureType)
	if !ok {
		return nil, ronghe.Errorf(ronghe.EUNSUPPORTED, "verifier key is not an SM2 (%q) key", sm2TypeIdentifier)
	}
	if len(raw) != sm2PublicKeySize {
		return nil, ronghe.Errorf(ronghe.EINVALID, "SM2 public key has %d bytes, want %d", len(raw), sm2PublicKeySize)
	}
	pub, err := sm2.NewPublicKey([]byte(raw))
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, "invalid SM2 public key")
	}
	return &sm2Verifier{name: name, hash: hash, pub: pub}, nil
}

// NewSM2VerifierFromKey builds the SM2 note verifier for a public key directly.
func NewSM2VerifierFromKey(name string, pub *ecdsa.PublicKey) (note.Verifier, error) {
	vkey, err := SM2VerifierKey(name, pub)
	if err != nil {
		return nil, err
	}
	return NewSM2Verifier(vkey)
}

// NewEd25519Verifier parses a standard Ed25519 signed-note verifier key.
func NewEd25519Verifier(vkey string) (note.Verifier, error) {
	_, _, typed, err := splitVerifierKey(vkey)
	if err != nil {
		return nil, err
	}
	if typed[0] != Ed25519SignatureType {
		return nil, ronghe.Errorf(ronghe.EUNSUPPORTED, "verifier key is not an Ed25519 key")
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, "invalid Ed25519 verifier key")
	}
	return v, nil
}

// sm2Verifier is a note.Verifier for SM2 co-signatures.
type sm2Verifier struct {
	name string
	hash uint32
	pub  *ecdsa.PublicKey
}

// Name returns the key name, the log origin.
func (v *sm2Verifier) Name() string { return v.name }

// KeyHash returns the signed-note key ID.
func (v *sm2Verifier) KeyHash() uint32 { return v.hash }

// Verify reports whether sig is a valid SM2 signature of msg.
func (v *sm2Verifier) Verify(msg, sig []byte) bool {
	return sm2.VerifyASN1WithSM2(v.pub, []byte(SM2UserID), msg, sig)
}
