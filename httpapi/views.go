package httpapi

import (
	"encoding/json"
	"time"

	"github.com/ronghe/ronghe"
)

// UploadsPath is where the tus 1.0 upload endpoint is mounted; a submission
// view repeats it as upload_url.
const UploadsPath = "/v1/uploads/"

// Upload-Metadata keys a client must send when it creates an upload (tus
// creation extension): the message the file belongs to and the file's name as
// the manifest lists it.
const (
	MetaMessageID = "message_id"
	MetaFile      = "file"
)

// SubmitRequest is the body of POST /v1/submissions.
type SubmitRequest struct {
	// Manifest is the exact manifest bytes the signature covers.
	Manifest []byte `json:"manifest" nonnil:"true" doc:"the exact signed manifest bytes (a JSON manifest), base64"`
	// Signature is the submitter's signature over Manifest.
	Signature []byte `json:"signature" nonnil:"true" doc:"signature over the manifest bytes by the key named in the manifest's key_id, base64"`
}

// FileView is the upload state of one file of a submission.
type FileView struct {
	Name     string `json:"name" doc:"bare file name as in the manifest"`
	Size     int64  `json:"size" doc:"exact size in bytes; the upload's Upload-Length must equal it"`
	Digest   string `json:"digest" doc:"lower-case hex digest under the manifest's suite"`
	Done     bool   `json:"done" doc:"true when the file arrived whole and its digest matched"`
	UploadID string `json:"upload_id,omitempty" doc:"the tus upload carrying the file, once created"`
}

// SubmissionView is a submission as the API shows it.
type SubmissionView struct {
	MessageID  string     `json:"message_id" doc:"the manifest's message ID"`
	Status     string     `json:"status" doc:"uploading until every file checked out, then accepted" enum:"uploading,accepted"`
	Files      []FileView `json:"files" nonnil:"true"`
	CreatedAt  time.Time  `json:"created_at" doc:"when the manifest was accepted"`
	AcceptedAt *time.Time `json:"accepted_at" doc:"when the last file checked out; null while uploading"`
	LogIndex   *uint64    `json:"log_index" doc:"transparency-log index of the acceptance event; null while uploading"`
	UploadURL  string     `json:"upload_url" doc:"path of the tus upload endpoint for the files"`
	// Receipt is the platform-signed receipt, once accepted.
	Receipt SignedJSON `json:"receipt,omitempty" doc:"the platform-signed receipt (payload type ronghe.receipt/v1), once accepted"`
}

// SignedJSON is a signed evidence document (evidence.Signed) embedded as a
// JSON object exactly as the platform stored it, so signatures stay
// verifiable byte for byte.
type SignedJSON []byte

// MarshalJSON returns the document's bytes as they are, or null when empty.
func (s SignedJSON) MarshalJSON() ([]byte, error) {
	if len(s) == 0 {
		return []byte("null"), nil
	}
	return s, nil
}

// UnmarshalJSON keeps a copy of the document's exact bytes.
func (s *SignedJSON) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = nil
		return nil
	}
	*s = append((*s)[:0], b...)
	return nil
}

func submissionView(sub *ronghe.Submission) *SubmissionView {
	v := &SubmissionView{
		MessageID:  sub.MessageID,
		Status:     sub.Status,
		Files:      make([]FileView, 0, len(sub.Files)),
		CreatedAt:  sub.CreatedAt,
		AcceptedAt: sub.AcceptedAt,
		LogIndex:   sub.LogIndex,
		UploadURL:  UploadsPath,
	}
	for _, f := range sub.Files {
		v.Files = append(v.Files, FileView{Name: f.Name, Size: f.Size, Digest: f.Digest, Done: f.Done, UploadID: f.UploadID})
	}
	if sub.Status == ronghe.SubmissionAccepted && json.Valid(sub.Receipt) {
		v.Receipt = SignedJSON(sub.Receipt)
	}
	return v
}

// MailboxMessageView is a mailbox message. Listings leave out Body and
// Envelope; fetching one message includes both.
type MailboxMessageView struct {
	ID          string     `json:"id" doc:"platform-assigned message ID"`
	Kind        string     `json:"kind" doc:"what the message is, e.g. exchange.receipt, quality.report"`
	Subject     string     `json:"subject" doc:"one-line human summary"`
	RefersTo    string     `json:"refers_to,omitempty" doc:"the submission the message is about"`
	ContentType string     `json:"content_type" doc:"media type of the body"`
	Digest      []byte     `json:"digest" doc:"digest of the body under the recipient's suite"`
	CreatedAt   time.Time  `json:"created_at"`
	LogIndex    *uint64    `json:"log_index" doc:"transparency-log index of the delivery event"`
	AckedAt     *time.Time `json:"acked_at" doc:"when the recipient acknowledged; null until then"`
	AckKeyID    string     `json:"ack_key_id,omitempty" doc:"the key that signed the acknowledgment"`
	AckLogIndex *uint64    `json:"ack_log_index,omitempty" doc:"transparency-log index of the acknowledgment event"`
	Body        []byte     `json:"body,omitempty" doc:"the payload (only when fetching one message)"`
	Envelope    []byte     `json:"envelope,omitempty" doc:"the exact bytes of the platform-signed envelope (an evidence document with payload type ronghe.mailbox/v1 naming the body's digest), base64; an acknowledgment names the digest of these bytes. Only when fetching one message"`
}

func mailboxView(m *ronghe.MailboxMessage, full bool) MailboxMessageView {
	v := MailboxMessageView{
		ID: m.ID, Kind: m.Kind, Subject: m.Subject, RefersTo: m.RefersTo, ContentType: m.ContentType,
		Digest: m.Digest, CreatedAt: m.CreatedAt, LogIndex: m.LogIndex,
		AckedAt: m.AckedAt, AckKeyID: m.AckKeyID, AckLogIndex: m.AckLogIndex,
	}
	if full {
		v.Body = m.Body
		if v.Body == nil {
			v.Body = []byte{}
		}
		v.Envelope = m.Envelope
	}
	return v
}

// MailboxList is one page of a mailbox listing.
type MailboxList struct {
	Messages []MailboxMessageView `json:"messages" nonnil:"true"`
	// Next is the cursor for the following page (pass it as after), empty
	// on the last page.
	Next string `json:"next,omitempty" doc:"pass as after= to get the next page; absent on the last page"`
}

// PlatformKeys is the platform's public identity that clients and auditors
// pin: the keys receipts, envelopes and checkpoints are signed with, the log's
// origin and verifier keys, and the CA that issues client certificates.
type PlatformKeys = ronghe.PlatformInfo

// Platform is the body of GET /v1/platform.
type Platform struct {
	PlatformKeys
	// RRSVersions lists the supported RRS-1 versions, oldest first.
	RRSVersions []string `json:"rrs_versions" nonnil:"true" doc:"supported RRS-1 versions, oldest first"`
	// MaxUploadBytes is the largest single upload accepted (0: no limit
	// beyond the institution's own).
	MaxUploadBytes int64 `json:"max_upload_bytes" doc:"largest single upload the server accepts; 0 means only per-institution limits apply"`
	// UploadURL is the tus endpoint.
	UploadURL string `json:"upload_url" doc:"path of the tus upload endpoint"`
}

// Health is the body of GET /healthz.
type Health struct {
	Status string `json:"status" enum:"ok"`
}
