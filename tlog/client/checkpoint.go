package client

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/ronghe/ronghe"
)

// MaxCheckpointSize bounds the size of a checkpoint note accepted for
// verification, so a hostile server cannot make a client parse megabytes.
const MaxCheckpointSize = 16 << 10

// maxExtensionLines bounds the optional extension lines of a checkpoint body.
const maxExtensionLines = 16

// Checkpoint is the body of a C2SP tlog-checkpoint: the log origin, the tree
// size and the RFC 6962 root hash of the first Size leaves.
type Checkpoint struct {
	// Origin is the unique name of the log, such as "ronghe.example/log".
	Origin string
	// Size is the number of leaves the checkpoint commits to.
	Size uint64
	// Hash is the 32-byte RFC 6962 Merkle tree hash of those leaves.
	Hash []byte
	// Extensions holds any extension lines after the hash, verbatim. Ronghe's
	// log writes none; they are kept so a verifier can reject or show them.
	Extensions []string
}

// ParseCheckpointBody parses the text of a checkpoint note (the part covered by
// the signatures) strictly: origin, canonical decimal size, standard base64 of a
// 32-byte hash, optional non-empty extension lines, each ending in a newline.
// It checks no signature; use LogVerifier.VerifyCheckpoint for that.
func ParseCheckpointBody(text string) (Checkpoint, error) {
	if len(text) > MaxCheckpointSize {
		return Checkpoint{}, ronghe.Errorf(ronghe.ETOOLARGE, "checkpoint body exceeds %d bytes", MaxCheckpointSize)
	}
	if !strings.HasSuffix(text, "\n") {
		return Checkpoint{}, ronghe.Errorf(ronghe.EINVALID, "checkpoint body must end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return Checkpoint{}, ronghe.Errorf(ronghe.EINVALID, "checkpoint body has %d lines, want at least 3", len(lines))
	}
	if len(lines) > 3+maxExtensionLines {
		return Checkpoint{}, ronghe.Errorf(ronghe.EINVALID, "checkpoint body has too many extension lines")
	}
	var cp Checkpoint
	cp.Origin = lines[0]
	if !ValidKeyName(cp.Origin) {
		return Checkpoint{}, ronghe.Errorf(ronghe.EINVALID, "checkpoint origin %q is not a valid name", cp.Origin)
	}
	size, err := parseSize(lines[1])
	if err != nil {
		return Checkpoint{}, err
	}
	cp.Size = size
	hash, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(hash) != sha256.Size || base64.StdEncoding.EncodeToString(hash) != lines[2] {
		return Checkpoint{}, ronghe.Errorf(ronghe.EINVALID, "checkpoint root hash is not base64 of %d bytes", sha256.Size)
	}
	cp.Hash = hash
	for _, ext := range lines[3:] {
		if ext == "" {
			return Checkpoint{}, ronghe.Errorf(ronghe.EINVALID, "checkpoint has an empty extension line")
		}
		cp.Extensions = append(cp.Extensions, ext)
	}
	return cp, nil
}

// parseSize parses a canonical ASCII decimal tree size (no sign, no leading zero).
func parseSize(s string) (uint64, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, ronghe.Errorf(ronghe.EINVALID, "checkpoint size %q is not canonical decimal", s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ronghe.Errorf(ronghe.EINVALID, "checkpoint size %q is not decimal", s)
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, ronghe.Errorf(ronghe.EINVALID, "checkpoint size %q out of range", s)
	}
	return n, nil
}

// Marshal returns the checkpoint body text, the inverse of ParseCheckpointBody.
func (c Checkpoint) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(c.Origin)
	b.WriteByte('\n')
	b.WriteString(strconv.FormatUint(c.Size, 10))
	b.WriteByte('\n')
	b.WriteString(base64.StdEncoding.EncodeToString(c.Hash))
	b.WriteByte('\n')
	for _, e := range c.Extensions {
		b.WriteString(e)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// LogVerifier holds the trust anchors of one log: its origin and the verifiers
// of its two checkpoint keys. It is immutable and safe for concurrent use.
type LogVerifier struct {
	origin string
	ed     note.Verifier
	sm     note.Verifier
}

// NewLogVerifier builds a LogVerifier from the two published verifier key
// strings: the Ed25519 one (type 0x01) and the SM2 one (SM2SignatureType). Both
// keys must be named after the origin.
func NewLogVerifier(origin, ed25519VKey, sm2VKey string) (*LogVerifier, error) {
	ed, err := NewEd25519Verifier(ed25519VKey)
	if err != nil {
		return nil, err
	}
	sm, err := NewSM2Verifier(sm2VKey)
	if err != nil {
		return nil, err
	}
	return newLogVerifier(origin, ed, sm)
}

// NewLogVerifierFromKeys builds a LogVerifier from raw public keys.
func NewLogVerifierFromKeys(origin string, edPub ed25519.PublicKey, smPub *ecdsa.PublicKey) (*LogVerifier, error) {
	edKey, err := Ed25519VerifierKey(origin, edPub)
	if err != nil {
		return nil, err
	}
	smKey, err := SM2VerifierKey(origin, smPub)
	if err != nil {
		return nil, err
	}
	return NewLogVerifier(origin, edKey, smKey)
}

func newLogVerifier(origin string, ed, sm note.Verifier) (*LogVerifier, error) {
	if !ValidKeyName(origin) {
		return nil, ronghe.Errorf(ronghe.EINVALID, "invalid log origin %q", origin)
	}
	if ed.Name() != origin || sm.Name() != origin {
		return nil, ronghe.Errorf(ronghe.EINVALID, "verifier keys must be named after the log origin %q", origin)
	}
	if ed.KeyHash() == sm.KeyHash() {
		return nil, ronghe.Errorf(ronghe.EINVALID, "Ed25519 and SM2 verifier keys have the same key ID")
	}
	return &LogVerifier{origin: origin, ed: ed, sm: sm}, nil
}

// Origin returns the log origin the verifier expects.
func (v *LogVerifier) Origin() string { return v.origin }

// VerifyCheckpoint opens a signed checkpoint note and returns its body. It
// fails with EINTEGRITY unless the note carries a valid Ed25519 signature AND a
// valid SM2 co-signature from the configured keys, and with EINVALID if the
// body is malformed or names another origin. Signatures from unknown keys (for
// example witnesses) are ignored, as the signed-note specification requires.
func (v *LogVerifier) VerifyCheckpoint(raw []byte) (Checkpoint, error) {
	if len(raw) > MaxCheckpointSize {
		return Checkpoint{}, ronghe.Errorf(ronghe.ETOOLARGE, "checkpoint exceeds %d bytes", MaxCheckpointSize)
	}
	n, err := note.Open(raw, note.VerifierList(v.ed, v.sm))
	if err != nil {
		var inv *note.InvalidSignatureError
		var unv *note.UnverifiedNoteError
		switch {
		case errors.As(err, &inv):
			return Checkpoint{}, ronghe.WrapError(ronghe.EINTEGRITY, err, "checkpoint signature does not verify")
		case errors.As(err, &unv):
			return Checkpoint{}, ronghe.WrapError(ronghe.EINTEGRITY, err, "checkpoint carries no signature from the log keys")
		default:
			return Checkpoint{}, ronghe.WrapError(ronghe.EINVALID, err, "malformed checkpoint note")
		}
	}
	var haveEd, haveSM bool
	for _, s := range n.Sigs {
		if s.Name != v.origin {
			continue
		}
		switch s.Hash {
		case v.ed.KeyHash():
			haveEd = true
		case v.sm.KeyHash():
			haveSM = true
		}
	}
	if !haveEd {
		return Checkpoint{}, ronghe.Errorf(ronghe.EINTEGRITY, "checkpoint lacks the Ed25519 signature")
	}
	if !haveSM {
		return Checkpoint{}, ronghe.Errorf(ronghe.EINTEGRITY, "checkpoint lacks the SM2 co-signature")
	}
	cp, err := ParseCheckpointBody(n.Text)
	if err != nil {
		return Checkpoint{}, err
	}
	if cp.Origin != v.origin {
		return Checkpoint{}, ronghe.Errorf(ronghe.EINVALID, "checkpoint origin %q, want %q", cp.Origin, v.origin)
	}
	return cp, nil
}
