// Package evidence defines the platform's signed documents — receipts,
// mailbox envelopes, acknowledgments and evidence bundles — and verifies them
// offline. The server builds them with the same code that `ronghe verify` and
// any auditor use to check them, so both sides agree byte for byte.
//
// A signed document is a JSON object carrying the exact payload bytes and one
// or more detached signatures over those bytes. Signing raw bytes (not a
// canonicalised form) lets anyone verify with OpenSSL: decode the payload to a
// file and run `openssl pkeyutl -verify -rawin` (see docs/security.md).
package evidence

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/suite"
)

// Payload types name what a signed document contains. The type is also inside
// the payload, so a signature over one kind can never be replayed as another.
const (
	TypeReceipt  = "ronghe.receipt/v1"
	TypeMailbox  = "ronghe.mailbox/v1"
	TypeAck      = "ronghe.ack/v1"
	TypeBundle   = "ronghe.evidence-bundle/v1"
	maxDocument  = 16 << 20
	maxSignature = 4
)

// Signed is a payload with detached signatures over its exact bytes.
type Signed struct {
	// Payload is the signed bytes, a JSON object with a "type" member.
	Payload []byte `json:"payload"`
	// Signatures are made over Payload by the keys they name.
	Signatures []Signature `json:"signatures"`
}

// Signature is one detached signature.
type Signature struct {
	// KeyID is the signing key's fingerprint.
	KeyID string `json:"key_id"`
	// Suite is the signing key's suite.
	Suite ronghe.Suite `json:"suite"`
	// Sig is the signature bytes (SM2 DER or Ed25519 raw).
	Sig []byte `json:"sig"`
}

// Sign returns a document whose payload is the JSON encoding of v, signed by
// every signer. v must marshal to an object with a "type" member.
func Sign(v any, signers ...suite.Signer) (*Signed, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	return SignBytes(payload, signers...)
}

// SignBytes signs the given payload bytes as they are.
func SignBytes(payload []byte, signers ...suite.Signer) (*Signed, error) {
	doc := &Signed{Payload: payload}
	for _, s := range signers {
		sig, err := s.Sign(payload)
		if err != nil {
			return nil, fmt.Errorf("evidence: sign: %w", err)
		}
		doc.Signatures = append(doc.Signatures, Signature{KeyID: s.PublicKey().Fingerprint(), Suite: s.Suite(), Sig: sig})
	}
	return doc, nil
}

// Marshal encodes the document as JSON.
func (d *Signed) Marshal() []byte {
	b, _ := json.Marshal(d) // a struct of bytes and strings cannot fail
	return b
}

// Parse decodes a signed document, refusing unknown members and oversize input.
func Parse(b []byte) (*Signed, error) {
	if len(b) > maxDocument {
		return nil, ronghe.Errorf(ronghe.ETOOLARGE, "signed document larger than %d bytes", maxDocument)
	}
	var d Signed
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, "malformed signed document")
	}
	// One document, nothing after it: bytes the signatures do not cover
	// must not ride along (an acknowledgment is stored and logged as sent).
	if _, err := dec.Token(); err != io.EOF {
		return nil, ronghe.Errorf(ronghe.EINVALID, "malformed signed document: data after the JSON object")
	}
	if len(d.Signatures) == 0 || len(d.Signatures) > maxSignature {
		return nil, ronghe.Errorf(ronghe.EINVALID, "signed document has %d signatures", len(d.Signatures))
	}
	return &d, nil
}

// Type returns the payload's "type" member.
func (d *Signed) Type() (string, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(d.Payload, &head); err != nil {
		return "", ronghe.WrapError(ronghe.EINVALID, err, "payload is not a JSON object")
	}
	return head.Type, nil
}

// Verify checks that the document has the wanted payload type and that every
// key in trusted signed it. Signatures by keys not in trusted are ignored;
// a missing or bad signature by a trusted key is an EINTEGRITY error. The
// payload is then decoded into v, if v is not nil.
func (d *Signed) Verify(wantType string, trusted []*suite.PublicKey, v any) error {
	typ, err := d.Type()
	if err != nil {
		return err
	}
	if typ != wantType {
		return ronghe.Errorf(ronghe.EINTEGRITY, "document is a %q, not a %q", typ, wantType)
	}
	if len(trusted) == 0 {
		return ronghe.Errorf(ronghe.EINVALID, "no trusted keys to verify against")
	}
	for _, k := range trusted {
		id := k.Fingerprint()
		found := false
		for _, s := range d.Signatures {
			if s.KeyID != id {
				continue
			}
			found = true
			if err := k.Verify(d.Payload, s.Sig); err != nil {
				return ronghe.WrapError(ronghe.EINTEGRITY, err, "signature by "+id+" does not verify")
			}
		}
		if !found {
			return ronghe.Errorf(ronghe.EINTEGRITY, "document is not signed by %s", id)
		}
	}
	if v != nil {
		if err := json.Unmarshal(d.Payload, v); err != nil {
			return ronghe.WrapError(ronghe.EINVALID, err, "malformed payload")
		}
	}
	return nil
}
