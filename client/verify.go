package client

import (
	"bytes"
	"encoding/json"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/suite"
	"github.com/ronghe/ronghe/tlog"
	tlogclient "github.com/ronghe/ronghe/tlog/client"
)

// Verifier checks the platform's signed documents against pinned public keys,
// offline.
type Verifier struct {
	info *ronghe.PlatformInfo
	keys []*suite.PublicKey
	log  *tlogclient.LogVerifier
}

// NewVerifier builds a verifier from the platform's pinned public identity.
// LogVerifiers holds the Ed25519 note verifier key first, then the SM2 one.
func NewVerifier(info *ronghe.PlatformInfo) (*Verifier, error) {
	if info == nil || len(info.SigningKeys) == 0 || len(info.LogVerifiers) != 2 {
		return nil, ronghe.Errorf(ronghe.EINVALID, "platform identity must list signing keys and exactly two log verifier keys (Ed25519, SM2)")
	}
	v := &Verifier{info: info}
	for _, pemText := range info.SigningKeys {
		k, err := suite.ParsePublicKeyPEM([]byte(pemText))
		if err != nil {
			return nil, err
		}
		v.keys = append(v.keys, k)
	}
	lv, err := tlogclient.NewLogVerifier(info.LogOrigin, info.LogVerifiers[0], info.LogVerifiers[1])
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, "log verifier keys: "+err.Error())
	}
	v.log = lv
	return v, nil
}

// VerifyReceipt checks a receipt: both platform signatures, the checkpoint's
// two signatures, the inclusion proof of the leaf, and that the leaf records
// the acceptance of exactly the receipted manifest.
func VerifyReceipt(doc *evidence.Signed, info *ronghe.PlatformInfo) (*evidence.Receipt, error) {
	v, err := NewVerifier(info)
	if err != nil {
		return nil, err
	}
	return v.Receipt(doc)
}

// Receipt checks one receipt; see VerifyReceipt.
func (v *Verifier) Receipt(doc *evidence.Signed) (*evidence.Receipt, error) {
	var r evidence.Receipt
	if err := doc.Verify(evidence.TypeReceipt, v.keys, &r); err != nil {
		return nil, err
	}
	if r.LogOrigin != v.info.LogOrigin {
		return nil, ronghe.Errorf(ronghe.EINTEGRITY, "receipt names log %q, the pinned log is %q", r.LogOrigin, v.info.LogOrigin)
	}
	cp, err := v.log.VerifyCheckpoint(r.Checkpoint)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EINTEGRITY, err, "receipt checkpoint does not verify: "+err.Error())
	}
	if err := tlogclient.VerifyInclusion(r.Leaf, r.LogIndex, r.InclusionProof, cp); err != nil {
		return nil, ronghe.WrapError(ronghe.EINTEGRITY, err, "inclusion proof does not verify: "+err.Error())
	}
	ev, err := tlog.ParseLeaf(r.Leaf)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EINTEGRITY, err, "logged leaf is malformed")
	}
	if ev.Kind != tlog.KindSubmissionAccepted || ev.Tenant != r.Sender || ev.MessageID != r.MessageID || !bytes.Equal(ev.Digest, r.ManifestDigest) {
		return nil, ronghe.Errorf(ronghe.EINTEGRITY, "logged event %s %s %s does not match the receipt", ev.Kind, ev.Tenant, ev.MessageID)
	}
	return &r, nil
}

// Bundle checks an evidence bundle: the receipt as in Receipt, and that the
// manifest in the bundle is the one the receipt names and that the sender's
// key signed it.
func (v *Verifier) Bundle(b *evidence.Bundle) (*evidence.Receipt, error) {
	if b.Type != evidence.TypeBundle || b.Receipt == nil || b.SenderKey == nil {
		return nil, ronghe.Errorf(ronghe.EINVALID, "not a complete evidence bundle")
	}
	r, err := v.Receipt(b.Receipt)
	if err != nil {
		return nil, err
	}
	pub, err := suite.ParsePublicKeyPEM([]byte(b.SenderKey.PublicKeyPEM))
	if err != nil {
		return nil, err
	}
	if pub.Fingerprint() != r.SenderKeyID || b.SenderKey.Owner != r.Sender {
		return nil, ronghe.Errorf(ronghe.EINTEGRITY, "bundle's sender key is not the key the receipt names")
	}
	if !bytes.Equal(suite.Digest(pub.Suite(), b.Manifest), r.ManifestDigest) {
		return nil, ronghe.Errorf(ronghe.EINTEGRITY, "bundle's manifest is not the receipted manifest")
	}
	if !bytes.Equal(b.ManifestSignature, r.SenderSignature) {
		return nil, ronghe.Errorf(ronghe.EINTEGRITY, "bundle's manifest signature is not the receipted one")
	}
	if err := pub.Verify(b.Manifest, b.ManifestSignature); err != nil {
		return nil, ronghe.WrapError(ronghe.EINTEGRITY, err, "sender's signature over the manifest does not verify")
	}
	var m ronghe.Manifest
	if err := json.Unmarshal(b.Manifest, &m); err != nil || m.MessageID != r.MessageID || m.Sender != r.Sender {
		return nil, ronghe.Errorf(ronghe.EINTEGRITY, "bundle's manifest names another message")
	}
	return r, nil
}

// Mailbox checks a fetched mailbox message: the envelope's platform
// signatures, that it is addressed to recipient, and that the body matches
// the envelope's digest.
func (v *Verifier) Mailbox(m *ronghe.MailboxMessage, recipient string, s ronghe.Suite) (*evidence.Mailbox, error) {
	doc, err := evidence.Parse(m.Envelope)
	if err != nil {
		return nil, err
	}
	var env evidence.Mailbox
	if err := doc.Verify(evidence.TypeMailbox, v.keys, &env); err != nil {
		return nil, err
	}
	if env.ID != m.ID || env.Recipient != recipient {
		return nil, ronghe.Errorf(ronghe.EINTEGRITY, "envelope is for message %s to %s", env.ID, env.Recipient)
	}
	if !bytes.Equal(env.BodyDigest, suite.Digest(s, m.Body)) {
		return nil, ronghe.Errorf(ronghe.EINTEGRITY, "message body does not match its signed digest")
	}
	return &env, nil
}
