package pipeline

import (
	"context"
	"io"
	"strings"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/exchange"
	"github.com/ronghe/ronghe/rrs"
)

// Blobs opens stored, encrypted blobs as plaintext streams.
type Blobs interface {
	Get(ctx context.Context, key string) (io.ReadCloser, error)
}

// Submissions finds accepted submissions.
type Submissions interface {
	FindSubmission(ctx context.Context, tenant, messageID string) (*ronghe.Submission, error)
}

// Batch is an accepted batch submission read straight from the blob store:
// each record file is decrypted as it is read, and never written out in
// plaintext.
type Batch struct {
	ctx      context.Context
	id       rrs.BatchID
	manifest *ronghe.Manifest
	sub      *ronghe.Submission
	enc      rrs.Encoding
	spec     *rrs.Spec
	blobs    Blobs
}

// OpenBatch returns the accepted batch tenant/messageID. A submission that
// is not an accepted RRS-1 batch is EINVALID.
func OpenBatch(ctx context.Context, subs Submissions, blobs Blobs, tenant, messageID string) (*Batch, error) {
	sub, err := subs.FindSubmission(ctx, tenant, messageID)
	if err != nil {
		return nil, err
	}
	if sub.Status != ronghe.SubmissionAccepted {
		// Processing is enqueued just before acceptance: wait for it.
		return nil, ronghe.Errorf(ronghe.EUNAVAILABLE, "submission %s is not accepted yet", messageID)
	}
	m, err := exchange.ParseManifest(sub.Manifest)
	if err != nil {
		return nil, err
	}
	if m.Kind != ronghe.MessageBatch {
		return nil, ronghe.Errorf(ronghe.EINVALID, "submission %s is a %s, not a batch", messageID, m.Kind)
	}
	id, err := rrs.ParseBatchID(m.MessageID)
	if err != nil {
		return nil, err
	}
	spec, err := rrs.Lookup(m.StandardVersion)
	if err != nil {
		return nil, err
	}
	enc, err := rrs.ParseEncoding(m.Encoding)
	if err != nil {
		return nil, err
	}
	return &Batch{ctx: ctx, id: id, manifest: m, sub: sub, enc: enc, spec: spec, blobs: blobs}, nil
}

// ID is the batch's identity.
func (b *Batch) ID() rrs.BatchID { return b.id }

// Submission is the accepted submission the batch came from (lineage).
func (b *Batch) Submission() *ronghe.Submission { return b.sub }

func (b *Batch) file(t rrs.Type) *ronghe.SubmissionFile {
	for i := range b.sub.Files {
		f := &b.sub.Files[i]
		if strings.EqualFold(f.Name, string(t)+".csv") {
			return f
		}
	}
	return nil
}

// Has reports whether the batch holds a file of type t.
func (b *Batch) Has(t rrs.Type) bool { return b.file(t) != nil }

// Open streams the file of type t, decrypting it.
func (b *Batch) Open(t rrs.Type) (*rrs.Reader, error) {
	f := b.file(t)
	if f == nil {
		return nil, ronghe.Errorf(ronghe.ENOTFOUND, "batch %s has no %s file", b.id, t)
	}
	rt := b.spec.Record(t)
	rc, err := b.blobs.Get(b.ctx, f.BlobKey)
	if err != nil {
		return nil, err
	}
	return rrs.NewReadCloser(rc, rt, b.enc, f.Name)
}
