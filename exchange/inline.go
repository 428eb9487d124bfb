package exchange

import (
	"bytes"
	"context"
	"io"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/suite"
)

// Blobs is the encrypted blob store as SubmitWithFiles writes to it
// (*blobstore.Store).
type Blobs interface {
	// Put encrypts everything read from r under a fresh data key of suite
	// st and stores it under key, durably, once Put returns nil; a key in
	// use is ECONFLICT.
	Put(ctx context.Context, key string, r io.Reader, st ronghe.Suite) (int64, error)
}

// SubmitWithFiles is the small-batch path: the signed manifest, its
// signature and every file's bytes arrive together (files by name), so the
// submission is checked, stored, logged and receipted in one call with no
// resumable upload. The guarantees are Submit's, then FileUploaded's, then
// Finalize's, in that order, and nothing is stored before all of them that
// can be checked without the store have passed: the manifest and its
// signature, the per-file limit, and every file's size and digest against
// the signed manifest (a request with a file missing, extra or different is
// refused whole). Then the manifest is registered idempotently within the
// quota (the same manifest again returns the stored submission, its receipt
// included; another manifest under the message ID is ECONFLICT), each file
// not yet stored is encrypted into the blob store and recorded, and the
// acceptance is logged before the receipt is stored and returned. It
// reports whether this call registered the manifest.
func (s *Service) SubmitWithFiles(ctx context.Context, tenant string, manifest, signature []byte, files map[string][]byte) (*ronghe.Submission, bool, error) {
	if s.cfg.Blobs == nil {
		return nil, false, ronghe.Errorf(ronghe.EUNSUPPORTED, "this platform takes files only over tus: post the manifest as JSON and upload the files")
	}
	c, err := s.check(ctx, tenant, manifest, signature)
	if err != nil {
		return nil, false, err
	}
	for name := range files {
		if findFile(c.sub, name) == nil {
			return nil, false, ronghe.Errorf(ronghe.EINVALID, "file %q is not in the manifest of message %s", name, c.sub.MessageID)
		}
	}
	for i := range c.sub.Files {
		f := &c.sub.Files[i]
		b, ok := files[f.Name]
		if !ok {
			return nil, false, ronghe.Errorf(ronghe.EINVALID, "file %s of the manifest is not in the request; send every file, or upload them with tus", f.Name)
		}
		if err := checkArrived(f, int64(len(b)), suite.Digest(c.m.Suite, b), "; nothing was stored"); err != nil {
			return nil, false, err
		}
	}
	// The finalising locks are taken before the manifest is registered, so
	// that a submission this call creates is finalised from what it wrote,
	// without reading it back: nobody else can finalise it in between.
	unlock, err := s.lockMessage(ctx, tenant, c.sub.MessageID)
	if err != nil {
		return nil, false, err
	}
	defer unlock()
	sub, created, err := s.register(ctx, c)
	if err != nil || sub.Status == ronghe.SubmissionAccepted {
		return sub, created, err
	}
	// Stored files are recorded with the acceptance when the store can
	// (one transaction fewer), else each on its own first. Either way a
	// file is recorded only once its blob is durable; one stored but not
	// recorded is found again by Finalize (recoverFiles).
	_, withAccept := s.cfg.Store.(filesAccepter)
	arrived := map[string]string{}
	for _, f := range sub.Files {
		if f.Done {
			continue
		}
		key := BlobKey(tenant, sub.MessageID, f.Name)
		// A blob already under key is this file: only a file checked
		// against this manifest is ever stored there (an earlier request cut
		// short before recording it, or a tus upload of the same file).
		if _, err := s.cfg.Blobs.Put(ctx, key, bytes.NewReader(files[f.Name]), c.m.Suite); err != nil && ronghe.ErrorCode(err) != ronghe.ECONFLICT {
			return nil, created, err
		}
		if withAccept {
			arrived[f.Name] = key
		} else if err := s.cfg.Store.CompleteFile(ctx, tenant, sub.MessageID, f.Name, key); err != nil {
			return nil, created, err
		}
	}
	var known *ronghe.Submission
	if created {
		known = sub
	}
	sub, err = s.finalizeLocked(ctx, tenant, sub.MessageID, arrived, known, c.m)
	return sub, created, err
}
