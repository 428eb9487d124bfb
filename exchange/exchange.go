// Package exchange is the platform's message exchange (报文交换): it accepts
// signed manifests, ties resumable uploads to them, checks every file's size and
// digest, logs the acceptance in the transparency log and issues the signed
// receipt; it also delivers signed messages to mailboxes and records signed
// acknowledgments. It speaks to storage, the log and the upload store through
// the small interfaces below, so the HTTP layer and the tests wire it the same
// way.
package exchange

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/suite"
	"github.com/ronghe/ronghe/tlog"
)

// Institutions is what the exchange reads about tenants and their keys.
type Institutions interface {
	FindInstitution(ctx context.Context, code string) (*ronghe.Institution, error)
	FindKey(ctx context.Context, owner, id string) (*ronghe.Key, error)
}

// Log is the transparency log as the exchange uses it.
type Log interface {
	Append(ctx context.Context, leaf []byte) (uint64, error)
	AwaitCheckpoint(ctx context.Context, index uint64) ([]byte, uint64, error)
	InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error)
}

// Upload is a finished upload as the exchange sees it.
type Upload struct {
	// Tenant, MessageID and File are what the upload was created for.
	Tenant, MessageID, File string
	// Size and Digest are what actually arrived.
	Size   int64
	Digest []byte
}

// Uploads is the resumable upload store and the blob store behind it.
type Uploads interface {
	// Finished returns the finished upload with the given ID; ENOTFOUND if it
	// does not exist or belongs to another tenant, ECONFLICT if incomplete.
	Finished(ctx context.Context, tenant, id string) (*Upload, error)
	// Promote moves the finished upload's encrypted bytes to the blob store
	// under key; it is idempotent.
	Promote(ctx context.Context, tenant, id, key string) error
	// Discard removes an upload whose content did not check out.
	Discard(ctx context.Context, tenant, id string) error
	// Stored reports whether a blob exists under key.
	Stored(ctx context.Context, key string) (bool, error)
}

// Config is the exchange's wiring.
type Config struct {
	Institutions Institutions
	Store        ronghe.ExchangeStore
	Log          Log
	Uploads      Uploads
	// Blobs, if set, is the blob store behind Uploads, written directly by
	// SubmitWithFiles (small batches sent whole in one request).
	Blobs Blobs
	// LogOrigin names the log in receipts.
	LogOrigin string
	// Signers are the platform keys receipts and mailbox envelopes are signed
	// with (Ed25519 and SM2).
	Signers []suite.Signer
	// Platform is the platform's public identity, copied into evidence
	// bundles.
	Platform *ronghe.PlatformInfo
	// DefaultQuotaBytes is the per-day byte quota for institutions without
	// their own; DefaultMaxFileBytes likewise for one file.
	DefaultQuotaBytes   int64
	DefaultMaxFileBytes int64
	// BeforeAccept, if set, is called once all files of a submission have
	// checked out and before it is accepted: the platform enqueues the
	// submission's processing there, so that an accepted submission can never
	// be left unprocessed by a crash (the processing waits for acceptance).
	// An error stops the acceptance; the sender's retry repeats both. Leave
	// it nil when the Store does this inside the acceptance's own
	// transaction (cmd/ronghe on SQLite: sqlstore.DB.OnAccept).
	BeforeAccept func(ctx context.Context, tenant, messageID string) error
	// Lock, if set, takes a lock shared by every replica of the platform
	// (sqlstore's advisory lock on PostgreSQL). Finalize holds it per message
	// so that two replicas never log the same acceptance twice.
	Lock func(ctx context.Context, name string) (release func(), err error)
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service is the exchange.
type Service struct {
	cfg Config

	// finalizing serialises finalisation of one message within this process
	// so that a message is logged once; across processes the store's
	// accept-once rule decides and the loser returns the winner's receipt.
	mu         sync.Mutex
	finalizing map[string]*msgLock
}

// New returns an exchange with the given wiring.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.DefaultMaxFileBytes == 0 {
		cfg.DefaultMaxFileBytes = 64 << 30
	}
	if cfg.DefaultQuotaBytes == 0 {
		cfg.DefaultQuotaBytes = 256 << 30
	}
	return &Service{cfg: cfg, finalizing: map[string]*msgLock{}}
}

// Submit registers a signed manifest from tenant. Nothing is accepted before
// the signature checks out against a key the tenant registered. Submitting the
// same message ID with the same manifest again returns the stored submission
// (with its receipt, if any); with another manifest it is ECONFLICT.
func (s *Service) Submit(ctx context.Context, tenant string, manifest, signature []byte) (*ronghe.Submission, error) {
	c, err := s.check(ctx, tenant, manifest, signature)
	if err != nil {
		return nil, err
	}
	sub, _, err := s.register(ctx, c)
	return sub, err
}

// checked is a manifest whose signature, sender, suite and sizes checked out,
// with the submission it would be stored as.
type checked struct {
	m     *ronghe.Manifest
	inst  *ronghe.Institution
	sub   *ronghe.Submission
	total int64
	now   time.Time
}

// check verifies a signed manifest from tenant without storing anything: its
// format, its sender (the authenticated tenant, an active institution), its
// suite, its signature by a key the tenant registered and valid now, and
// every file against the tenant's per-file limit.
func (s *Service) check(ctx context.Context, tenant string, manifest, signature []byte) (*checked, error) {
	m, err := ParseManifest(manifest)
	if err != nil {
		return nil, err
	}
	if m.Sender != tenant {
		return nil, ronghe.Errorf(ronghe.EFORBIDDEN, "manifest sender %q is not the authenticated institution %q", m.Sender, tenant)
	}
	inst, err := s.cfg.Institutions.FindInstitution(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if inst.Status != ronghe.StatusActive {
		return nil, ronghe.Errorf(ronghe.EFORBIDDEN, "institution %s is %s and cannot submit", tenant, inst.Status)
	}
	if m.Suite != inst.Suite {
		return nil, ronghe.Errorf(ronghe.EINVALID, "manifest suite %s differs from the institution's suite %s", m.Suite, inst.Suite)
	}
	now := s.now()
	if err := s.verifySignature(ctx, tenant, m.KeyID, manifest, signature, now); err != nil {
		return nil, err
	}
	maxFile := inst.MaxFileBytes
	if maxFile <= 0 {
		maxFile = s.cfg.DefaultMaxFileBytes
	}
	var total int64
	for _, f := range m.Files {
		if f.Size > maxFile {
			return nil, ronghe.Errorf(ronghe.ETOOLARGE, "file %s is %d bytes; the limit for %s is %d", f.Name, f.Size, tenant, maxFile)
		}
		total += f.Size
	}
	sub := &ronghe.Submission{
		Tenant:         tenant,
		MessageID:      m.MessageID,
		Manifest:       manifest,
		ManifestDigest: suite.Digest(m.Suite, manifest),
		Signature:      signature,
		KeyID:          m.KeyID,
		Status:         ronghe.SubmissionUploading,
		CreatedAt:      now.UTC(),
	}
	for _, f := range m.Files {
		sub.Files = append(sub.Files, ronghe.SubmissionFile{Name: f.Name, Size: f.Size, Digest: f.Digest})
	}
	return &checked{m: m, inst: inst, sub: sub, total: total, now: now}, nil
}

// register stores a checked manifest idempotently by (tenant, message ID)
// within the tenant's quota. It returns the stored submission and whether
// this call created it; a stored one with another manifest is ECONFLICT.
func (s *Service) register(ctx context.Context, c *checked) (*ronghe.Submission, bool, error) {
	tenant, digest := c.sub.Tenant, c.sub.ManifestDigest
	quota := c.inst.QuotaBytes
	if quota <= 0 {
		quota = s.cfg.DefaultQuotaBytes
	}
	used, err := s.cfg.Store.UsedBytes(ctx, tenant, c.now.Add(-24*time.Hour))
	if err != nil {
		return nil, false, err
	}
	if used+c.total > quota {
		// A replay of a stored message must not be refused by the quota it
		// already counts against. (Within the quota, CreateSubmission finds
		// it.)
		if existing, err := s.cfg.Store.FindSubmission(ctx, tenant, c.m.MessageID); err == nil {
			sub, err := s.sameOrConflict(existing, digest)
			return sub, false, err
		} else if ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
			return nil, false, err
		}
		return nil, false, ronghe.Errorf(ronghe.ETOOLARGE, "quota exceeded: %d bytes in the last 24 hours plus %d would pass %d", used, c.total, quota)
	}
	stored, created, err := s.cfg.Store.CreateSubmission(ctx, c.sub)
	if err != nil {
		return nil, false, err
	}
	if !created {
		sub, err := s.sameOrConflict(stored, digest)
		return sub, false, err
	}
	s.cfg.Logger.InfoContext(ctx, "manifest accepted", "tenant", tenant, "message_id", c.m.MessageID, "files", len(c.m.Files), "bytes", c.total)
	return stored, true, nil
}

func (s *Service) sameOrConflict(existing *ronghe.Submission, digest []byte) (*ronghe.Submission, error) {
	if !bytes.Equal(existing.ManifestDigest, digest) {
		return nil, ronghe.Errorf(ronghe.ECONFLICT, "message %s was already submitted with a different manifest; a correction needs a new batch_seq", existing.MessageID)
	}
	return existing, nil
}

// verifySignature checks sig over msg by the tenant's registered key id as
// it stood at time at.
func (s *Service) verifySignature(ctx context.Context, tenant, keyID string, msg, sig []byte, at time.Time) error {
	key, err := s.cfg.Institutions.FindKey(ctx, tenant, keyID)
	if ronghe.ErrorCode(err) == ronghe.ENOTFOUND {
		return ronghe.Errorf(ronghe.EINTEGRITY, "key %q is not registered for %s", keyID, tenant)
	} else if err != nil {
		return err
	}
	if !key.ValidAt(at) {
		return ronghe.Errorf(ronghe.EEXPIRED, "key %s of %s is revoked", keyID, tenant)
	}
	pub, err := suite.ParsePublicKeyPEM([]byte(key.PublicKeyPEM))
	if err != nil {
		return err
	}
	if err := pub.Verify(msg, sig); err != nil {
		return ronghe.WrapError(ronghe.EINTEGRITY, err, "signature does not verify under key "+keyID)
	}
	return nil
}

// Submission returns one of tenant's submissions.
func (s *Service) Submission(ctx context.Context, tenant, messageID string) (*ronghe.Submission, error) {
	return s.cfg.Store.FindSubmission(ctx, tenant, messageID)
}

// FileUploaded is called when an upload finishes: it checks the upload's size
// and digest against the manifest, moves the encrypted file into the blob
// store, and, when it was the last file, finalises the submission. A file that
// does not check out is discarded and EINTEGRITY returned, so the sender can
// upload it again; nothing half-checked is kept.
func (s *Service) FileUploaded(ctx context.Context, tenant, uploadID string) (*ronghe.Submission, error) {
	up, err := s.cfg.Uploads.Finished(ctx, tenant, uploadID)
	if err != nil {
		return nil, err
	}
	sub, err := s.cfg.Store.FindSubmission(ctx, tenant, up.MessageID)
	if err != nil {
		return nil, err
	}
	if err := s.takeUpload(ctx, sub, up, uploadID); err != nil {
		return nil, err
	}
	return s.Finalize(ctx, tenant, up.MessageID)
}

// takeUpload checks a finished upload against its file in the manifest and,
// if it matches, promotes it and marks the file done.
func (s *Service) takeUpload(ctx context.Context, sub *ronghe.Submission, up *Upload, uploadID string) error {
	f := findFile(sub, up.File)
	if f == nil || up.MessageID != sub.MessageID {
		return ronghe.Errorf(ronghe.ENOTFOUND, "file %s is not in message %s", up.File, up.MessageID)
	}
	if f.Done {
		return nil
	}
	if f.UploadID != "" && f.UploadID != uploadID {
		return ronghe.Errorf(ronghe.ECONFLICT, "file %s of %s is carried by another upload", up.File, up.MessageID)
	}
	if err := checkArrived(f, up.Size, up.Digest, " — the upload was discarded, send the file again"); err != nil {
		_ = s.cfg.Uploads.Discard(ctx, sub.Tenant, uploadID)
		return err
	}
	key := BlobKey(sub.Tenant, sub.MessageID, up.File)
	if err := s.cfg.Uploads.Promote(ctx, sub.Tenant, uploadID, key); err != nil {
		// Only a checked file is ever stored under key, so a blob there is
		// this file: a concurrent caller (the request that finished the
		// upload and a complete call, or two replicas) promoted this upload
		// first, or an earlier upload of the file was promoted before a crash
		// let it be recorded and the sender sent the file again. Either way
		// the file has arrived; a redundant upload is dropped.
		if ok, serr := s.cfg.Uploads.Stored(ctx, key); serr != nil || !ok {
			return err
		}
		if derr := s.cfg.Uploads.Discard(ctx, sub.Tenant, uploadID); derr != nil && ronghe.ErrorCode(derr) != ronghe.ENOTFOUND {
			return derr
		}
	}
	return s.cfg.Store.CompleteFile(ctx, sub.Tenant, sub.MessageID, up.File, key)
}

// checkArrived compares what arrived for a file with the signed manifest's
// size and digest; a mismatch is EINTEGRITY, its detail ending with then.
func checkArrived(f *ronghe.SubmissionFile, size int64, digest []byte, then string) error {
	if size != f.Size || hex.EncodeToString(digest) != f.Digest {
		return ronghe.Errorf(ronghe.EINTEGRITY, "file %s arrived with %d bytes and digest %x; the signed manifest says %d bytes and %s%s",
			f.Name, size, digest, f.Size, f.Digest, then)
	}
	return nil
}

// recoverFiles finishes files whose upload completed but whose check was cut
// short (the server stopped between the last byte and the bookkeeping): an
// upload still in the store is checked now; a blob already promoted from a
// checked upload is recorded. Files in skip are left alone. It reports
// whether it recorded anything.
func (s *Service) recoverFiles(ctx context.Context, sub *ronghe.Submission, skip map[string]string) (bool, error) {
	changed := false
	for _, f := range sub.Files {
		if _, ok := skip[f.Name]; f.Done || ok {
			continue
		}
		var err error
		var up *Upload
		if f.UploadID != "" {
			up, err = s.cfg.Uploads.Finished(ctx, sub.Tenant, f.UploadID)
		}
		switch code := ronghe.ErrorCode(err); {
		case f.UploadID != "" && code == "":
			if err := s.takeUpload(ctx, sub, up, f.UploadID); err != nil {
				return changed, err
			}
			changed = true
		case f.UploadID == "" || code == ronghe.ENOTFOUND:
			// Promotion removes the upload only after the checked blob is in
			// place, so a stored blob here is that checked file; so is one
			// without an upload, stored whole by SubmitWithFiles (which
			// records it with the acceptance) cut short before that.
			key := BlobKey(sub.Tenant, sub.MessageID, f.Name)
			if ok, err := s.cfg.Uploads.Stored(ctx, key); err != nil {
				return changed, err
			} else if ok {
				if err := s.cfg.Store.CompleteFile(ctx, sub.Tenant, sub.MessageID, f.Name, key); err != nil {
					return changed, err
				}
				changed = true
			}
		case code == ronghe.ECONFLICT:
			// Still uploading.
		default:
			return changed, err
		}
	}
	return changed, nil
}

// UploadStarted records which upload carries a file of a submission, so that
// a sender that lost track of it (a crash on either side) can resume it.
func (s *Service) UploadStarted(ctx context.Context, tenant, messageID, file, uploadID string) error {
	return s.cfg.Store.SetUploadID(ctx, tenant, messageID, file, uploadID)
}

// BlobKey is where the encrypted copy of a submitted file is stored.
func BlobKey(tenant, messageID, file string) string {
	return "submissions/" + tenant + "/" + messageID + "/" + file
}

// Finalize accepts a submission whose files have all arrived: it appends the
// acceptance event to the log, waits for a checkpoint that covers it, and
// stores the signed receipt. It is idempotent and safe to call after a crash:
// an accepted submission is returned as it is; one with files still missing
// is returned unchanged, still uploading.
func (s *Service) Finalize(ctx context.Context, tenant, messageID string) (*ronghe.Submission, error) {
	return s.finalize(ctx, tenant, messageID, nil)
}

// filesAccepter is a Store that records files with the acceptance, in one
// transaction (*sqlstore.DB).
type filesAccepter interface {
	AcceptSubmissionFiles(ctx context.Context, tenant, messageID string, files map[string]string, at time.Time, logIndex uint64, receipt []byte) error
}

// finalize is Finalize for a submission some of whose files the caller has
// just stored (arrived: file name → blob key) but not recorded: they count
// as done and are recorded with the acceptance.
func (s *Service) finalize(ctx context.Context, tenant, messageID string, arrived map[string]string) (*ronghe.Submission, error) {
	unlock, err := s.lockMessage(ctx, tenant, messageID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return s.finalizeLocked(ctx, tenant, messageID, arrived, nil, nil)
}

// lockMessage takes the locks under which a submission is finalised: the
// process's own and, across processes, Config.Lock.
func (s *Service) lockMessage(ctx context.Context, tenant, messageID string) (unlock func(), err error) {
	key := tenant + "/" + messageID
	lock := s.lockFor(key)
	lock.mu.Lock()
	if s.cfg.Lock == nil {
		return func() { s.unlockFor(key, lock) }, nil
	}
	release, err := s.cfg.Lock(ctx, "ronghe/finalize/"+key)
	if err != nil {
		s.unlockFor(key, lock)
		return nil, err
	}
	return func() {
		release()
		s.unlockFor(key, lock)
	}, nil
}

// finalizeLocked is finalize with the caller holding lockMessage. known,
// if not nil, is the submission as the caller created it under the same
// locks (SubmitWithFiles), and m its parsed manifest: nobody can have
// finalised it since, so it is not read (nor parsed) again. Files completed meanwhile by another request are stored under
// the same blob keys, so recording them again with the acceptance changes
// nothing.
func (s *Service) finalizeLocked(ctx context.Context, tenant, messageID string, arrived map[string]string, known *ronghe.Submission, m *ronghe.Manifest) (*ronghe.Submission, error) {
	sub := known
	if sub == nil {
		// Read under both locks: another request or replica may have
		// accepted it while we waited.
		var err error
		if sub, err = s.cfg.Store.FindSubmission(ctx, tenant, messageID); err != nil {
			return nil, err
		}
	}
	if sub.Status == ronghe.SubmissionAccepted {
		return sub, nil
	}
	record := map[string]string{}
	for _, f := range sub.Files {
		if key, ok := arrived[f.Name]; ok && !f.Done {
			record[f.Name] = key
		}
	}
	missing := func() bool {
		for _, f := range sub.Files {
			if _, ok := record[f.Name]; !f.Done && !ok {
				return true
			}
		}
		return false
	}
	if missing() {
		if changed, err := s.recoverFiles(ctx, sub, record); err != nil {
			return nil, err
		} else if changed {
			if sub, err = s.cfg.Store.FindSubmission(ctx, tenant, messageID); err != nil {
				return nil, err
			}
		}
		if missing() {
			return sub, nil
		}
	}
	for i := range sub.Files {
		if f := &sub.Files[i]; !f.Done {
			f.Done, f.BlobKey = true, record[f.Name]
		}
	}
	if known == nil || m == nil {
		var err error
		if m, err = ParseManifest(sub.Manifest); err != nil {
			return nil, err
		}
	}
	if s.cfg.BeforeAccept != nil {
		if err := s.cfg.BeforeAccept(ctx, tenant, messageID); err != nil {
			return nil, err
		}
	}
	now := s.now()
	leaf := tlog.Event{Kind: tlog.KindSubmissionAccepted, Tenant: tenant, MessageID: messageID, Digest: sub.ManifestDigest, Time: now}.Leaf()
	index, err := s.cfg.Log.Append(ctx, leaf)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "transparency log unavailable; finish the submission again later")
	}
	cp, size, err := s.cfg.Log.AwaitCheckpoint(ctx, index)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "transparency log unavailable; finish the submission again later")
	}
	proof, err := s.cfg.Log.InclusionProof(ctx, index, size)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "transparency log unavailable; finish the submission again later")
	}
	receipt := evidence.Receipt{
		Type:            evidence.TypeReceipt,
		MessageID:       messageID,
		Sender:          tenant,
		ManifestDigest:  sub.ManifestDigest,
		DigestAlg:       m.Suite.HashName(),
		SenderKeyID:     sub.KeyID,
		SenderSignature: sub.Signature,
		ReceivedAt:      now,
		LogOrigin:       s.cfg.LogOrigin,
		LogIndex:        index,
		Leaf:            leaf,
		Checkpoint:      cp,
		InclusionProof:  proof,
	}
	signed, err := evidence.Sign(receipt, s.cfg.Signers...)
	if err != nil {
		return nil, err
	}
	receiptBytes := signed.Marshal()
	if fa, ok := s.cfg.Store.(filesAccepter); ok && len(record) > 0 {
		err = fa.AcceptSubmissionFiles(ctx, tenant, messageID, record, now, index, receiptBytes)
	} else {
		err = s.cfg.Store.AcceptSubmission(ctx, tenant, messageID, now, index, receiptBytes)
	}
	if ronghe.ErrorCode(err) == ronghe.ECONFLICT {
		// Another process accepted it first; its receipt is the one.
		return s.cfg.Store.FindSubmission(ctx, tenant, messageID)
	} else if err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "submission accepted", "tenant", tenant, "message_id", messageID, "log_index", index)
	// What the store now holds, without reading it back.
	sub.Status, sub.AcceptedAt, sub.LogIndex, sub.Receipt = ronghe.SubmissionAccepted, &now, &index, receiptBytes
	return sub, nil
}

// now is the clock in UTC at the precision the metadata stores keep
// (microseconds), so that a time written into a log leaf or a signed
// document is exactly the time stored beside it, and a leaf can be rebuilt
// from the stored record.
func (s *Service) now() time.Time {
	return s.cfg.Now().UTC().Truncate(time.Microsecond)
}

// msgLock is one message's entry in Service.finalizing: the mutex and how
// many callers hold or wait for it, so that the entry goes when the last
// one leaves (one per message would otherwise stay for the process's life).
type msgLock struct {
	mu sync.Mutex
	n  int
}

// lockFor returns key's lock, counting the caller in; unlockFor unlocks it
// and counts the caller out.
func (s *Service) lockFor(key string) *msgLock {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.finalizing[key]
	if !ok {
		l = &msgLock{}
		s.finalizing[key] = l
	}
	l.n++
	return l
}

func (s *Service) unlockFor(key string, l *msgLock) {
	l.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.n--; l.n == 0 {
		delete(s.finalizing, key)
	}
}

func findFile(sub *ronghe.Submission, name string) *ronghe.SubmissionFile {
	for i := range sub.Files {
		if sub.Files[i].Name == name {
			return &sub.Files[i]
		}
	}
	return nil
}

// Deliver puts a platform-signed message into tenant's mailbox and logs its
// delivery.
func (s *Service) Deliver(ctx context.Context, tenant, kind, subject, refersTo, contentType string, body []byte) (*ronghe.MailboxMessage, error) {
	inst, err := s.cfg.Institutions.FindInstitution(ctx, tenant)
	if err != nil {
		return nil, err
	}
	id, err := newID("MB")
	if err != nil {
		return nil, err
	}
	now := s.now()
	digest := suite.Digest(inst.Suite, body)
	env, err := evidence.Sign(evidence.Mailbox{
		Type: evidence.TypeMailbox, ID: id, Recipient: tenant, Kind: kind, Subject: subject, RefersTo: refersTo,
		ContentType: contentType, BodyDigest: digest, DigestAlg: inst.Suite.HashName(), CreatedAt: now,
	}, s.cfg.Signers...)
	if err != nil {
		return nil, err
	}
	envBytes := env.Marshal()
	leaf := tlog.Event{Kind: tlog.KindMessageDelivered, Tenant: tenant, MessageID: id, Digest: suite.Digest(inst.Suite, envBytes), Time: now}.Leaf()
	index, err := s.cfg.Log.Append(ctx, leaf)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "transparency log unavailable")
	}
	msg := &ronghe.MailboxMessage{
		ID: id, Tenant: tenant, Kind: kind, Subject: subject, RefersTo: refersTo, ContentType: contentType,
		Body: body, Digest: digest, Envelope: envBytes, CreatedAt: now, LogIndex: &index,
	}
	if err := s.cfg.Store.PutMailbox(ctx, msg); err != nil {
		return nil, err
	}
	return msg, nil
}

// Mailbox lists tenant's messages.
func (s *Service) Mailbox(ctx context.Context, tenant string, f ronghe.MailboxFilter) ([]*ronghe.MailboxMessage, error) {
	return s.cfg.Store.ListMailbox(ctx, tenant, f)
}

// MailboxMessage returns one of tenant's messages.
func (s *Service) MailboxMessage(ctx context.Context, tenant, id string) (*ronghe.MailboxMessage, error) {
	return s.cfg.Store.FindMailbox(ctx, tenant, id)
}

// Acknowledge records tenant's signed acknowledgment of a mailbox message. The
// acknowledgment must be an evidence.Ack of exactly that message's envelope,
// signed by one of tenant's registered keys; it is logged, so receipt can
// never be denied.
func (s *Service) Acknowledge(ctx context.Context, tenant, id string, ack []byte) (*ronghe.MailboxMessage, error) {
	msg, err := s.cfg.Store.FindMailbox(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if msg.AckedAt != nil {
		return msg, nil
	}
	doc, err := evidence.Parse(ack)
	if err != nil {
		return nil, err
	}
	if len(doc.Signatures) != 1 {
		return nil, ronghe.Errorf(ronghe.EINVALID, "an acknowledgment carries exactly one signature")
	}
	inst, err := s.cfg.Institutions.FindInstitution(ctx, tenant)
	if err != nil {
		return nil, err
	}
	sig := doc.Signatures[0]
	now := s.now()
	if err := s.verifySignature(ctx, tenant, sig.KeyID, doc.Payload, sig.Sig, now); err != nil {
		return nil, err
	}
	var a evidence.Ack
	if err := jsonStrict(doc.Payload, &a); err != nil {
		return nil, err
	}
	if a.Type != evidence.TypeAck || a.MessageID != id || a.Party != tenant ||
		!bytes.Equal(a.Digest, suite.Digest(inst.Suite, msg.Envelope)) {
		return nil, ronghe.Errorf(ronghe.EINTEGRITY, "acknowledgment does not name message %s of %s with its envelope digest", id, tenant)
	}
	leaf := tlog.Event{Kind: tlog.KindMessageAcknowledged, Tenant: tenant, MessageID: id, Digest: suite.Digest(inst.Suite, ack), Time: now}.Leaf()
	index, err := s.cfg.Log.Append(ctx, leaf)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "transparency log unavailable")
	}
	err = s.cfg.Store.AckMailbox(ctx, tenant, id, now, sig.KeyID, ack, index)
	if err != nil && ronghe.ErrorCode(err) != ronghe.ECONFLICT {
		return nil, err
	}
	return s.cfg.Store.FindMailbox(ctx, tenant, id)
}

func newID(prefix string) (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("exchange: id: %w", err)
	}
	return prefix + time.Now().UTC().Format("20060102") + hex.EncodeToString(b[:]), nil
}

// Evidence returns the evidence bundle of an accepted submission: the exact
// signed manifest, the sender's key as registered, the signed receipt and the
// platform's public keys — everything `ronghe verify` needs, offline.
func (s *Service) Evidence(ctx context.Context, tenant, messageID string) (*evidence.Bundle, error) {
	sub, err := s.cfg.Store.FindSubmission(ctx, tenant, messageID)
	if err != nil {
		return nil, err
	}
	if sub.Status != ronghe.SubmissionAccepted {
		return nil, ronghe.Errorf(ronghe.ENOTFOUND, "message %s has no receipt yet", messageID)
	}
	key, err := s.cfg.Institutions.FindKey(ctx, tenant, sub.KeyID)
	if err != nil {
		return nil, err
	}
	receipt, err := evidence.Parse(sub.Receipt)
	if err != nil {
		return nil, err
	}
	b := &evidence.Bundle{
		Type: evidence.TypeBundle, Manifest: sub.Manifest, ManifestSignature: sub.Signature,
		SenderKey: key, Receipt: receipt,
	}
	if s.cfg.Platform != nil {
		b.PlatformKeys = s.cfg.Platform.SigningKeys
		b.LogVerifiers = s.cfg.Platform.LogVerifiers
	}
	return b, nil
}
