package tlog

import (
	"bytes"
	"encoding/hex"
	"strings"
	"time"

	"github.com/ronghe/ronghe"
)

// LeafVersion is the first field of every leaf; a new leaf layout gets a new
// version so that old leaves keep their meaning for ever.
const LeafVersion = "ronghe-event/v1"

// Event kinds recorded in the transparency log. The set is closed for leaf
// version v1: a new kind needs a new LeafVersion so old verifiers fail loudly.
const (
	// KindSubmissionAccepted: the platform accepted a complete, signed submission.
	KindSubmissionAccepted = "submission.accepted"
	// KindMessageDelivered: a message was placed in the recipient's mailbox.
	KindMessageDelivered = "message.delivered"
	// KindMessageAcknowledged: the recipient acknowledged a message.
	KindMessageAcknowledged = "message.acknowledged"
	// KindAuthorizationRegistered: an enterprise authorized a flow report.
	KindAuthorizationRegistered = "authorization.registered"
	// KindAuthorizationRevoked: an enterprise revoked an authorization.
	KindAuthorizationRevoked = "authorization.revoked"
	// KindQueryRecorded: an authorized query was made.
	KindQueryRecorded = "query.recorded"
	// KindKeyRegistered: a participant's signing key was registered.
	KindKeyRegistered = "key.registered"
	// KindKeyRevoked: a participant's signing key was revoked.
	KindKeyRevoked = "key.revoked"
	// KindDisputeRegistered: an enterprise disputed reported data (异议).
	KindDisputeRegistered = "dispute.registered"
	// KindDisputeResolved: a dispute was resolved by a correction batch or
	// the reporting institution's signed answer.
	KindDisputeResolved = "dispute.resolved"
)

// kinds is the closed set of event kinds a v1 leaf may carry.
var kinds = map[string]bool{
	KindSubmissionAccepted:      true,
	KindMessageDelivered:        true,
	KindMessageAcknowledged:     true,
	KindAuthorizationRegistered: true,
	KindAuthorizationRevoked:    true,
	KindQueryRecorded:           true,
	KindKeyRegistered:           true,
	KindKeyRevoked:              true,
	KindDisputeRegistered:       true,
	KindDisputeResolved:         true,
}

// DigestSize is the length of the digest an event commits to: SM3 and SHA-256,
// the digests of both platform suites, are 32 bytes.
const DigestSize = 32

// MaxIDLength bounds tenant and message identifiers in a leaf.
const MaxIDLength = 128

// MaxLeafSize bounds the size of a leaf accepted by ParseLeaf; a valid v1 leaf
// is far smaller.
const MaxLeafSize = 1024

// noMessageID stands for an empty MessageID in the leaf (events such as
// key.registered concern no message).
const noMessageID = "-"

// Event is one exchange event recorded in the log. It commits only to
// identifiers and a digest, never to confidential content.
type Event struct {
	// Kind is one of the Kind* constants.
	Kind string
	// Tenant identifies the institution or enterprise the event concerns.
	Tenant string
	// MessageID identifies the message or object concerned; empty when none.
	MessageID string
	// Digest is the 32-byte digest (SM3 or SHA-256, per the tenant's suite) of
	// the object concerned: a batch, a message, an authorization or a key.
	Digest []byte
	// Time is when the platform recorded the event; it is written in UTC.
	Time time.Time
}

// validID reports whether s is a non-empty identifier of at most MaxIDLength
// bytes drawn from a conservative ASCII alphabet, so leaves stay one line of
// space-separated fields without any escaping.
func validID(s string) bool {
	if s == "" || len(s) > MaxIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == '-', c == ':', c == '@':
		default:
			return false
		}
	}
	return true
}

// Validate reports whether the event can be written as a v1 leaf: a known kind,
// identifiers from the allowed alphabet, a 32-byte digest and a non-zero time
// between years 1 and 9999.
func (e Event) Validate() error {
	if !kinds[e.Kind] {
		return ronghe.Errorf(ronghe.EINVALID, "unknown event kind %q", e.Kind)
	}
	if !validID(e.Tenant) {
		return ronghe.Errorf(ronghe.EINVALID, "invalid tenant identifier %q", e.Tenant)
	}
	if e.MessageID != "" && (e.MessageID == noMessageID || !validID(e.MessageID)) {
		return ronghe.Errorf(ronghe.EINVALID, "invalid message identifier %q", e.MessageID)
	}
	if len(e.Digest) != DigestSize {
		return ronghe.Errorf(ronghe.EINVALID, "digest has %d bytes, want %d", len(e.Digest), DigestSize)
	}
	if e.Time.IsZero() {
		return ronghe.Errorf(ronghe.EINVALID, "event time is zero")
	}
	if y := e.Time.UTC().Year(); y < 1 || y > 9999 {
		return ronghe.Errorf(ronghe.EINVALID, "event year %d out of range", y)
	}
	return nil
}

// Leaf returns the canonical v1 leaf encoding of the event, one line without a
// trailing newline:
//
//	ronghe-event/v1 <kind> <tenant> <message id or "-"> <lowercase hex digest> <RFC 3339 UTC time, nanoseconds, trailing zeros trimmed>
//
// The encoding is deterministic: equal events give equal bytes. Leaf returns nil
// for an event that fails Validate, so an invalid event can never be logged.
func (e Event) Leaf() []byte {
	if e.Validate() != nil {
		return nil
	}
	msg := e.MessageID
	if msg == "" {
		msg = noMessageID
	}
	var b bytes.Buffer
	b.Grow(len(LeafVersion) + len(e.Kind) + len(e.Tenant) + len(msg) + 2*DigestSize + 40)
	b.WriteString(LeafVersion)
	b.WriteByte(' ')
	b.WriteString(e.Kind)
	b.WriteByte(' ')
	b.WriteString(e.Tenant)
	b.WriteByte(' ')
	b.WriteString(msg)
	b.WriteByte(' ')
	b.WriteString(hex.EncodeToString(e.Digest))
	b.WriteByte(' ')
	b.WriteString(e.Time.UTC().Format(time.RFC3339Nano))
	return b.Bytes()
}

// ParseLeaf decodes a v1 leaf and checks every field, accepting only the exact
// bytes Leaf would produce for the result. A leaf of another version fails with
// EUNSUPPORTED, anything malformed with EINVALID.
func ParseLeaf(leaf []byte) (Event, error) {
	if len(leaf) > MaxLeafSize {
		return Event{}, ronghe.Errorf(ronghe.ETOOLARGE, "leaf exceeds %d bytes", MaxLeafSize)
	}
	fields := strings.Split(string(leaf), " ")
	if fields[0] != LeafVersion {
		if strings.HasPrefix(fields[0], "ronghe-event/") {
			return Event{}, ronghe.Errorf(ronghe.EUNSUPPORTED, "unsupported leaf version %q", fields[0])
		}
		return Event{}, ronghe.Errorf(ronghe.EINVALID, "not a ronghe event leaf")
	}
	if len(fields) != 6 {
		return Event{}, ronghe.Errorf(ronghe.EINVALID, "leaf has %d fields, want 6", len(fields))
	}
	e := Event{Kind: fields[1], Tenant: fields[2], MessageID: fields[3]}
	if e.MessageID == noMessageID {
		e.MessageID = ""
	}
	hexDigest := fields[4]
	if len(hexDigest) != 2*DigestSize || strings.ToLower(hexDigest) != hexDigest {
		return Event{}, ronghe.Errorf(ronghe.EINVALID, "digest must be %d lowercase hex characters", 2*DigestSize)
	}
	d, err := hex.DecodeString(hexDigest)
	if err != nil {
		return Event{}, ronghe.Errorf(ronghe.EINVALID, "digest is not hex")
	}
	e.Digest = d
	t, err := time.Parse(time.RFC3339Nano, fields[5])
	if err != nil {
		return Event{}, ronghe.Errorf(ronghe.EINVALID, "event time %q is not RFC 3339", fields[5])
	}
	e.Time = t.UTC()
	if err := e.Validate(); err != nil {
		return Event{}, err
	}
	// Canonical form only: UTC "Z", no trailing fractional zeros, and nothing
	// else that would give one event two different leaves.
	if got := e.Leaf(); !bytes.Equal(got, leaf) {
		return Event{}, ronghe.Errorf(ronghe.EINVALID, "leaf is not in canonical form")
	}
	return e, nil
}
