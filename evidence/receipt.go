package evidence

import (
	"time"

	"github.com/ronghe/ronghe"
)

// Receipt is the platform's signed proof of delivery of a submission. It names
// the exact manifest the sender signed, when the platform received it, and
// where the acceptance event sits in the transparency log, with a checkpoint
// and an inclusion proof that let anyone check that offline.
type Receipt struct {
	// Type is TypeReceipt.
	Type string `json:"type"`
	// MessageID and Sender identify the submission.
	MessageID string `json:"message_id"`
	Sender    string `json:"sender"`
	// ManifestDigest is the digest of the exact signed manifest bytes under
	// DigestAlg ("SM3" or "SHA-256").
	ManifestDigest []byte `json:"manifest_digest"`
	DigestAlg      string `json:"digest_alg"`
	// SenderKeyID and SenderSignature are the sender's signature over the
	// manifest, repeated so the receipt alone proves what was signed.
	SenderKeyID     string `json:"sender_key_id"`
	SenderSignature []byte `json:"sender_signature"`
	// ReceivedAt is when the last file checked out (UTC).
	ReceivedAt time.Time `json:"received_at"`
	// LogOrigin names the transparency log; LogIndex is the acceptance event's
	// index and Leaf its exact bytes.
	LogOrigin string `json:"log_origin"`
	LogIndex  uint64 `json:"log_index"`
	Leaf      []byte `json:"leaf"`
	// Checkpoint is a signed checkpoint note of a tree that contains LogIndex;
	// InclusionProof proves Leaf is at LogIndex in it.
	Checkpoint     []byte   `json:"checkpoint"`
	InclusionProof [][]byte `json:"inclusion_proof"`
}

// Ack is a party's signed acknowledgment that it fetched a mailbox message.
type Ack struct {
	// Type is TypeAck.
	Type string `json:"type"`
	// MessageID is the mailbox message's ID; Digest is the digest of its
	// signed envelope as the party received it.
	MessageID string `json:"message_id"`
	Digest    []byte `json:"digest"`
	// Party is the acknowledging institution's code.
	Party string `json:"party"`
	// At is when the party acknowledged.
	At time.Time `json:"at"`
}

// Mailbox is the signed envelope of a message the platform sends to a party.
type Mailbox struct {
	// Type is TypeMailbox.
	Type string `json:"type"`
	// ID, Recipient, Kind, Subject and RefersTo describe the message.
	ID        string `json:"id"`
	Recipient string `json:"recipient"`
	Kind      string `json:"kind"`
	Subject   string `json:"subject"`
	RefersTo  string `json:"refers_to,omitempty"`
	// ContentType and BodyDigest describe the body, which travels beside the
	// envelope; DigestAlg is the recipient's suite hash.
	ContentType string `json:"content_type"`
	BodyDigest  []byte `json:"body_digest"`
	DigestAlg   string `json:"digest_alg"`
	// CreatedAt is when the platform sent it.
	CreatedAt time.Time `json:"created_at"`
}

// Bundle is everything needed to prove, offline and for the retention
// period, that a party sent a message and the platform received it.
type Bundle struct {
	// Type is TypeBundle.
	Type string `json:"type"`
	// Manifest is the exact signed manifest; ManifestSignature the sender's
	// signature; SenderKey the sender's registered key as it stood.
	Manifest          []byte      `json:"manifest"`
	ManifestSignature []byte      `json:"manifest_signature"`
	SenderKey         *ronghe.Key `json:"sender_key"`
	// Receipt is the platform's signed receipt.
	Receipt *Signed `json:"receipt"`
	// PlatformKeys are the platform's public keys (PEM) the receipt and the
	// checkpoint are signed with; a verifier must pin them independently.
	PlatformKeys []string `json:"platform_keys"`
	// LogVerifiers are the note verifier keys of the log's checkpoints.
	LogVerifiers []string `json:"log_verifiers"`
}
