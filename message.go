package ronghe

import (
	"context"
	"time"
)

// ManifestVersion is the version of the manifest format this code writes and
// the only one it accepts.
const ManifestVersion = "1"

// Message kinds a submission may carry.
const (
	// MessageBatch is an RRS-1 batch (all record files of one institution and
	// business date, seq ≥ 1).
	MessageBatch = "rrs.batch"
	// MessageSampleAnswer is an institution's source-system copy of the rows the
	// platform sampled from one of its batches (RRS-1 P01).
	MessageSampleAnswer = "rrs.sample-answer"
)

// Manifest is what a submitter signs: the identity of the message and the size
// and digest of every file in it. The platform stores the exact signed bytes,
// which are its proof of origin.
type Manifest struct {
	// Version is the manifest format version, ManifestVersion.
	Version string `json:"manifest_version"`
	// MessageID is chosen by the sender and unique per sender for ever; for an
	// RRS-1 batch it is the batch name <inst_code>_<YYYYMMDD>_<seq>.
	MessageID string `json:"message_id"`
	// Kind is MessageBatch or MessageSampleAnswer.
	Kind string `json:"kind"`
	// Sender is the institution code of the submitter; it must equal the
	// institution authenticated by mutual TLS.
	Sender string `json:"sender"`
	// Standard and StandardVersion name the reporting standard, e.g. "RRS-1", "1.0".
	Standard        string `json:"standard"`
	StandardVersion string `json:"standard_version"`
	// BusinessDate is the batch's business date, YYYY-MM-DD in Asia/Shanghai.
	BusinessDate string `json:"business_date"`
	// BatchSeq is the batch sequence: 1, then 2, 3… for corrections of that date.
	BatchSeq int `json:"batch_seq"`
	// RefersTo names the message a sample answer answers; empty for batches.
	RefersTo string `json:"refers_to,omitempty"`
	// Encoding is the character encoding of the CSV files: "UTF-8" or "GB18030".
	Encoding string `json:"encoding"`
	// Suite is the sender's suite; it fixes the digest algorithm of Files.
	Suite Suite `json:"suite"`
	// KeyID is the fingerprint of the registered key that signed the manifest.
	KeyID string `json:"key_id"`
	// CreatedAt is when the sender wrote the manifest.
	CreatedAt time.Time `json:"created_at"`
	// Files lists every file of the message.
	Files []ManifestFile `json:"files"`
}

// ManifestFile describes one file of a submission.
type ManifestFile struct {
	// Name is the bare file name, e.g. "TXN.csv"; no directories.
	Name string `json:"name"`
	// Size is the exact size in bytes.
	Size int64 `json:"size"`
	// Digest is the lower-case hex digest of the file's bytes under the
	// manifest's suite (SM3 or SHA-256).
	Digest string `json:"digest"`
}

// Submission states.
const (
	// SubmissionUploading: the manifest is accepted, files are arriving.
	SubmissionUploading = "uploading"
	// SubmissionAccepted: every file arrived with the declared size and digest,
	// the event is logged and a receipt issued.
	SubmissionAccepted = "accepted"
)

// Submission is one message an institution sent, from its signed manifest to
// its receipt.
type Submission struct {
	// Tenant is the submitting institution's code.
	Tenant string `json:"tenant"`
	// MessageID is the manifest's message ID.
	MessageID string `json:"message_id"`
	// Manifest is the exact signed manifest bytes.
	Manifest []byte `json:"manifest"`
	// ManifestDigest is the suite digest of Manifest; it decides idempotency.
	ManifestDigest []byte `json:"manifest_digest"`
	// Signature is the sender's signature over Manifest.
	Signature []byte `json:"signature"`
	// KeyID is the registered key that made Signature.
	KeyID string `json:"key_id"`
	// Status is SubmissionUploading or SubmissionAccepted.
	Status string `json:"status"`
	// Files are the manifest's files with their upload progress.
	Files []SubmissionFile `json:"files"`
	// CreatedAt is when the manifest was accepted.
	CreatedAt time.Time `json:"created_at"`
	// AcceptedAt is when the last file checked out.
	AcceptedAt *time.Time `json:"accepted_at,omitempty"`
	// LogIndex is the transparency-log index of the acceptance event.
	LogIndex *uint64 `json:"log_index,omitempty"`
	// Receipt is the platform-signed receipt, once accepted.
	Receipt []byte `json:"receipt,omitempty"`
}

// SubmissionFile is the upload state of one file of a submission.
type SubmissionFile struct {
	// Name, Size and Digest repeat the manifest's entry.
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	Digest string `json:"digest"`
	// UploadID is the resumable upload carrying the file, once created.
	UploadID string `json:"upload_id,omitempty"`
	// BlobKey is where the encrypted file is stored, once complete.
	BlobKey string `json:"blob_key,omitempty"`
	// Done is true when the file arrived whole and its digest matched.
	Done bool `json:"done"`
}

// MailboxMessage is something the platform sends to a party: feedback, a
// problem list, a sample request, a report. Every message is signed by the
// platform and its delivery is logged.
type MailboxMessage struct {
	// ID is the platform-assigned message ID, unique for ever.
	ID string `json:"id"`
	// Tenant is the recipient's code.
	Tenant string `json:"tenant"`
	// Kind says what the message is, e.g. "exchange.receipt", "quality.report".
	Kind string `json:"kind"`
	// Subject is a one-line human summary.
	Subject string `json:"subject"`
	// RefersTo names the submission the message is about, if any.
	RefersTo string `json:"refers_to,omitempty"`
	// ContentType is the media type of Body.
	ContentType string `json:"content_type"`
	// Body is the payload; Digest is its digest under the recipient's suite.
	Body   []byte `json:"body,omitempty"`
	Digest []byte `json:"digest"`
	// Signatures are the platform's signatures over the canonical envelope.
	Envelope []byte `json:"envelope"`
	// CreatedAt is when the platform put the message in the mailbox.
	CreatedAt time.Time `json:"created_at"`
	// LogIndex is the index of the delivery event in the transparency log.
	LogIndex *uint64 `json:"log_index,omitempty"`
	// AckedAt, AckSignature and AckKeyID record the recipient's signed
	// acknowledgment.
	AckedAt      *time.Time `json:"acked_at,omitempty"`
	AckSignature []byte     `json:"ack_signature,omitempty"`
	AckKeyID     string     `json:"ack_key_id,omitempty"`
	// AckLogIndex is the index of the acknowledgment event in the log.
	AckLogIndex *uint64 `json:"ack_log_index,omitempty"`
}

// MailboxFilter selects messages in one tenant's mailbox.
type MailboxFilter struct {
	// Unacked selects only messages without an acknowledgment.
	Unacked bool
	// After, when set, returns messages created after that message ID's.
	After string
	// Limit caps the result; 0 means the default of 100.
	Limit int
}

// ExchangeStore is the metadata the exchange keeps. Every method takes the
// tenant explicitly: no query can reach another tenant's rows, and an object of
// another tenant is reported as ENOTFOUND, never as forbidden, so that its
// existence does not leak.
type ExchangeStore interface {
	// CreateSubmission stores a new submission. If one with the same tenant and
	// message ID exists it returns that one and false; otherwise the new one and
	// true.
	CreateSubmission(ctx context.Context, s *Submission) (*Submission, bool, error)
	FindSubmission(ctx context.Context, tenant, messageID string) (*Submission, error)
	ListSubmissions(ctx context.Context, tenant string, limit int) ([]*Submission, error)
	// SetUploadID records the upload carrying a file, replacing an earlier
	// unfinished one; ECONFLICT when the file has already arrived or the
	// upload carries another file.
	SetUploadID(ctx context.Context, tenant, messageID, file, uploadID string) error
	// CompleteFile marks a file done with its blob key.
	CompleteFile(ctx context.Context, tenant, messageID, file, blobKey string) error
	// AcceptSubmission moves a submission to SubmissionAccepted with its log
	// index and receipt, once, atomically; a second call returns ECONFLICT.
	AcceptSubmission(ctx context.Context, tenant, messageID string, at time.Time, logIndex uint64, receipt []byte) error
	// UsedBytes sums the declared sizes of a tenant's submissions since t.
	UsedBytes(ctx context.Context, tenant string, since time.Time) (int64, error)

	PutMailbox(ctx context.Context, m *MailboxMessage) error
	ListMailbox(ctx context.Context, tenant string, f MailboxFilter) ([]*MailboxMessage, error)
	FindMailbox(ctx context.Context, tenant, id string) (*MailboxMessage, error)
	AckMailbox(ctx context.Context, tenant, id string, at time.Time, keyID string, sig []byte, logIndex uint64) error
}
