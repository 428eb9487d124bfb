package tlog

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/emmansun/gmsm/sm2"
	"golang.org/x/mod/sumdb/note"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/tlog/client"
)

// NewEd25519Signer returns the standard signed-note Ed25519 signer (type 0x01)
// for a checkpoint key named after the log origin. It goes through
// note.NewSigner so the signature and key ID are exactly what every note
// verifier expects.
func NewEd25519Signer(origin string, key ed25519.PrivateKey) (note.Signer, error) {
	if !client.ValidKeyName(origin) {
		return nil, ronghe.Errorf(ronghe.EINVALID, "invalid log origin %q", origin)
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, ronghe.Errorf(ronghe.EINVALID, "Ed25519 private key has %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	pub := append([]byte{client.Ed25519SignatureType}, key.Public().(ed25519.PublicKey)...)
	seed := append([]byte{client.Ed25519SignatureType}, key.Seed()...)
	skey := fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", origin, client.KeyHash(origin, pub), base64.StdEncoding.EncodeToString(seed))
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, "cannot build Ed25519 note signer")
	}
	return s, nil
}

// NewSM2Signer returns a signed-note signer that co-signs checkpoints with SM2
// over SM3 (user ID client.SM2UserID), using signature type
// client.SM2SignatureType. Its signatures verify with client.NewSM2Verifier.
func NewSM2Signer(origin string, key *sm2.PrivateKey) (note.Signer, error) {
	if !client.ValidKeyName(origin) {
		return nil, ronghe.Errorf(ronghe.EINVALID, "invalid log origin %q", origin)
	}
	if key == nil || key.D == nil {
		return nil, ronghe.Errorf(ronghe.EINVALID, "SM2 private key is missing")
	}
	raw, err := client.MarshalSM2PublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	typed := append([]byte(client.SM2SignatureType), raw...)
	return &sm2Signer{
		name: origin,
		hash: client.KeyHash(origin, typed),
		key:  key,
		opts: sm2.NewSM2SignerOption(true, []byte(client.SM2UserID)),
	}, nil
}

// sm2Signer implements note.Signer with an SM2 private key.
type sm2Signer struct {
	name string
	hash uint32
	key  *sm2.PrivateKey
	opts *sm2.SM2SignerOption
}

// Name returns the key name, the log origin.
func (s *sm2Signer) Name() string { return s.name }

// KeyHash returns the signed-note key ID of the SM2 key.
func (s *sm2Signer) KeyHash() uint32 { return s.hash }

// Sign returns the ASN.1 DER SM2 signature of msg.
func (s *sm2Signer) Sign(msg []byte) ([]byte, error) {
	sig, err := s.key.Sign(rand.Reader, msg, s.opts)
	if err != nil {
		return nil, fmt.Errorf("sm2 sign: %w", err)
	}
	return sig, nil
}

// VerifierKeys returns the two verifier key strings that check this log's
// checkpoints, for publication and for `ronghe verify`: the Ed25519 key
// (standard signed-note form) and the SM2 key (client.SM2SignatureType).
func VerifierKeys(origin string, edPub ed25519.PublicKey, smPub *ecdsa.PublicKey) (ed25519VKey, sm2VKey string, err error) {
	if ed25519VKey, err = client.Ed25519VerifierKey(origin, edPub); err != nil {
		return "", "", err
	}
	if sm2VKey, err = client.SM2VerifierKey(origin, smPub); err != nil {
		return "", "", err
	}
	return ed25519VKey, sm2VKey, nil
}
