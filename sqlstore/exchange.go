package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"strings"
	"time"

	"github.com/ronghe/ronghe"
)

// errSubmissionNotFound is the one answer for a submission that does not
// exist and one that belongs to another tenant, so that the text cannot tell
// them apart.
func errSubmissionNotFound(messageID string) error {
	return ronghe.Errorf(ronghe.ENOTFOUND, "submission %s not found", messageID)
}

// validFileName reports whether name is a bare file name.
func validFileName(name string) bool {
	return name != "" && name != "." && name != ".." && len(name) <= 255 &&
		!strings.ContainsAny(name, "/\\\x00") && validCode(name)
}

// checkNewSubmission validates a submission about to be created.
func checkNewSubmission(s *ronghe.Submission) error {
	switch {
	case s == nil:
		return ronghe.Errorf(ronghe.EINVALID, "submission is missing")
	case !validCode(s.Tenant):
		return ronghe.Errorf(ronghe.EINVALID, "submission tenant %q is not valid", s.Tenant)
	case !validCode(s.MessageID):
		return ronghe.Errorf(ronghe.EINVALID, "message ID %q is not valid", s.MessageID)
	case len(s.Manifest) == 0 || len(s.ManifestDigest) == 0:
		return ronghe.Errorf(ronghe.EINVALID, "submission %s has no manifest", s.MessageID)
	case len(s.Signature) == 0 || s.KeyID == "":
		return ronghe.Errorf(ronghe.EINVALID, "submission %s is not signed", s.MessageID)
	case s.Status != "" && s.Status != ronghe.SubmissionUploading:
		return ronghe.Errorf(ronghe.EINVALID, "a new submission must be %s, not %q", ronghe.SubmissionUploading, s.Status)
	case s.AcceptedAt != nil || s.LogIndex != nil || len(s.Receipt) != 0:
		return ronghe.Errorf(ronghe.EINVALID, "a new submission cannot be accepted already")
	case len(s.Files) == 0:
		return ronghe.Errorf(ronghe.EINVALID, "submission %s lists no files", s.MessageID)
	}
	seen := make(map[string]bool, len(s.Files))
	var total int64
	for _, f := range s.Files {
		switch {
		case !validFileName(f.Name):
			return ronghe.Errorf(ronghe.EINVALID, "file name %q is not a bare file name", f.Name)
		case seen[f.Name]:
			return ronghe.Errorf(ronghe.EINVALID, "file %s is listed twice", f.Name)
		case f.Size < 0:
			return ronghe.Errorf(ronghe.EINVALID, "file %s has a negative size", f.Name)
		case f.Digest == "":
			return ronghe.Errorf(ronghe.EINVALID, "file %s has no digest", f.Name)
		case f.UploadID != "" || f.BlobKey != "" || f.Done:
			return ronghe.Errorf(ronghe.EINVALID, "file %s of a new submission cannot have an upload yet", f.Name)
		case f.Size > math.MaxInt64-total:
			return ronghe.Errorf(ronghe.ETOOLARGE, "submission %s is too large", s.MessageID)
		}
		seen[f.Name] = true
		total += f.Size
	}
	return nil
}

// CreateSubmission stores a new submission in state uploading. If the tenant
// already has a submission with that message ID it returns the stored one and
// false, whatever the new one holds; the caller compares manifest digests to
// tell a retry from a clash. Concurrent creators of one ID, in one process or
// several, get one true and otherwise the winner's row. A zero CreatedAt
// means now.
func (db *DB) CreateSubmission(ctx context.Context, s *ronghe.Submission) (*ronghe.Submission, bool, error) {
	if err := checkNewSubmission(s); err != nil {
		return nil, false, err
	}
	rec := *s
	rec.Status = ronghe.SubmissionUploading
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = time.Now()
	}
	rec.CreatedAt = normTime(rec.CreatedAt)
	rec.Manifest = append([]byte(nil), s.Manifest...)
	rec.ManifestDigest = append([]byte(nil), s.ManifestDigest...)
	rec.Signature = append([]byte(nil), s.Signature...)
	rec.Files = append([]ronghe.SubmissionFile(nil), s.Files...)
	rec.Receipt = nil
	var total int64
	for _, f := range rec.Files {
		total += f.Size
	}

	var stored *ronghe.Submission
	created := false
	err := db.writeSubmission(ctx, "create submission", func(ctx context.Context, c conn, _ *acceptedSubs) error {
		stored, created = nil, false
		// ON CONFLICT DO NOTHING waits for a concurrent inserter of the same
		// key to finish; if it committed, nothing is inserted here and the
		// SELECT below (a new statement, a new snapshot) sees its row.
		res, err := c.execCached(ctx, `INSERT INTO submissions
			(tenant, message_id, manifest, manifest_digest, signature, key_id, status, total_bytes, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			rec.Tenant, rec.MessageID, rec.Manifest, rec.ManifestDigest, rec.Signature, rec.KeyID,
			rec.Status, total, db.d.timeArg(rec.CreatedAt))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			stored, err = db.findSubmission(ctx, c, rec.Tenant, rec.MessageID)
			return err
		}
		// The quota's running sum (UsedBytes): the submission's bytes in
		// its tenant's minute, committed exactly with the submission.
		if _, err := c.execCached(ctx, `INSERT INTO submission_usage (tenant, minute, bytes) VALUES (?, ?, ?)
			ON CONFLICT (tenant, minute) DO UPDATE SET bytes = submission_usage.bytes + excluded.bytes`,
			rec.Tenant, db.d.timeArg(rec.CreatedAt.Truncate(time.Minute)), total); err != nil {
			return err
		}
		for i, f := range rec.Files {
			if _, err := c.execCached(ctx, `INSERT INTO submission_files
				(tenant, message_id, pos, name, size, digest, upload_id, blob_key, done)
				VALUES (?, ?, ?, ?, ?, ?, '', '', ?)`,
				rec.Tenant, rec.MessageID, i, f.Name, f.Size, f.Digest, false); err != nil {
				return err
			}
		}
		created = true
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	if created {
		return &rec, true, nil
	}
	return stored, false, nil
}

const submissionCols = `tenant, message_id, manifest, manifest_digest, signature, key_id, status, created_at, accepted_at, log_index, receipt`

// scanSubmission reads one row of submissionCols.
func scanSubmission(row interface{ Scan(...any) error }) (*ronghe.Submission, error) {
	var s ronghe.Submission
	if err := row.Scan(&s.Tenant, &s.MessageID, &s.Manifest, &s.ManifestDigest, &s.Signature, &s.KeyID, &s.Status,
		timeCol{&s.CreatedAt}, nullTimeCol{&s.AcceptedAt}, nullUint64Col{&s.LogIndex}, &s.Receipt); err != nil {
		return nil, err
	}
	s.Receipt = nilIfEmpty(s.Receipt)
	return &s, nil
}

// findSubmission reads one submission with its files, or ENOTFOUND.
func (db *DB) findSubmission(ctx context.Context, c conn, tenant, messageID string) (*ronghe.Submission, error) {
	s, err := scanSubmission(c.queryRowCached(ctx, `SELECT `+submissionCols+` FROM submissions WHERE tenant = ? AND message_id = ?`, tenant, messageID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errSubmissionNotFound(messageID)
	} else if err != nil {
		return nil, err
	}
	if err := db.loadFiles(ctx, c, tenant, []*ronghe.Submission{s}); err != nil {
		return nil, err
	}
	return s, nil
}

// loadFiles fills in the files of the given submissions of one tenant with
// one query.
func (db *DB) loadFiles(ctx context.Context, c conn, tenant string, subs []*ronghe.Submission) error {
	if len(subs) == 0 {
		return nil
	}
	byID := make(map[string]*ronghe.Submission, len(subs))
	args := make([]any, 0, len(subs)+1)
	args = append(args, tenant)
	for _, s := range subs {
		byID[s.MessageID] = s
		s.Files = []ronghe.SubmissionFile{}
		args = append(args, s.MessageID)
	}
	run := c.query
	if len(subs) == 1 {
		run = c.queryCached // one fixed statement: the common lookup of one submission
	}
	rows, err := run(ctx, `SELECT message_id, name, size, digest, upload_id, blob_key, done
		FROM submission_files WHERE tenant = ? AND message_id IN (`+placeholders(len(subs))+`)
		ORDER BY message_id, pos`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var f ronghe.SubmissionFile
		if err := rows.Scan(&id, &f.Name, &f.Size, &f.Digest, &f.UploadID, &f.BlobKey, &f.Done); err != nil {
			return err
		}
		if s := byID[id]; s != nil {
			s.Files = append(s.Files, f)
		}
	}
	return rows.Err()
}

// FindSubmission returns the tenant's submission with its files. Another
// tenant's submission is ENOTFOUND, exactly like a missing one.
func (db *DB) FindSubmission(ctx context.Context, tenant, messageID string) (*ronghe.Submission, error) {
	s, err := db.findSubmission(ctx, db.pool(), tenant, messageID)
	if err != nil {
		return nil, db.dbErr("find submission", err)
	}
	return s, nil
}

// ListSubmissions returns the tenant's most recent submissions, newest
// first, with their files. A limit of 0 means DefaultListLimit; limits above
// MaxListLimit are capped.
func (db *DB) ListSubmissions(ctx context.Context, tenant string, limit int) ([]*ronghe.Submission, error) {
	limit, err := listLimit(limit)
	if err != nil {
		return nil, err
	}
	c := db.pool()
	rows, err := c.query(ctx, `SELECT `+submissionCols+` FROM submissions WHERE tenant = ?
		ORDER BY created_at DESC, message_id DESC LIMIT ?`, tenant, limit)
	if err != nil {
		return nil, db.dbErr("list submissions", err)
	}
	var out []*ronghe.Submission
	for rows.Next() {
		s, err := scanSubmission(rows)
		if err != nil {
			rows.Close()
			return nil, db.dbErr("list submissions", err)
		}
		out = append(out, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, db.dbErr("list submissions", err)
	}
	// Files never change membership after creation, which committed with
	// the submission row, so a second query sees them all.
	if err := db.loadFiles(ctx, c, tenant, out); err != nil {
		return nil, db.dbErr("list submissions", err)
	}
	return out, nil
}

// fileState reads the upload state of one file of the tenant's submission:
// ENOTFOUND names the submission when the tenant has no such submission, and
// the file when the submission lacks it.
func fileState(ctx context.Context, c conn, tenant, messageID, file string) (uploadID, blobKey string, done bool, err error) {
	err = c.queryRowCached(ctx, `SELECT upload_id, blob_key, done FROM submission_files
		WHERE tenant = ? AND message_id = ? AND name = ?`, tenant, messageID, file).Scan(&uploadID, &blobKey, &done)
	if !errors.Is(err, sql.ErrNoRows) {
		return uploadID, blobKey, done, err
	}
	var one int
	err = c.queryRow(ctx, `SELECT 1 FROM submissions WHERE tenant = ? AND message_id = ?`, tenant, messageID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", false, errSubmissionNotFound(messageID)
	} else if err != nil {
		return "", "", false, err
	}
	return "", "", false, ronghe.Errorf(ronghe.ENOTFOUND, "submission %s has no file %s", messageID, file)
}

// SetUploadID records the resumable upload carrying a file, replacing an
// earlier upload of it (one abandoned, or discarded because its content did
// not match), so that a sender that lost track of its upload can find the
// current one. A file that has already arrived, or an upload already carrying
// another file, gives ECONFLICT.
func (db *DB) SetUploadID(ctx context.Context, tenant, messageID, file, uploadID string) error {
	if !validCode(uploadID) {
		return ronghe.Errorf(ronghe.EINVALID, "upload ID %q is not valid", uploadID)
	}
	return db.inTx(ctx, "set upload ID", func(c conn) error {
		res, err := c.exec(ctx, `UPDATE submission_files SET upload_id = ?
			WHERE tenant = ? AND message_id = ? AND name = ? AND done = ?`, uploadID, tenant, messageID, file, false)
		if err != nil {
			if db.d.isUnique(err) {
				return ronghe.Errorf(ronghe.ECONFLICT, "upload %s already carries another file", uploadID)
			}
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			return nil
		}
		current, _, _, err := fileState(ctx, c, tenant, messageID, file)
		if err != nil {
			return err
		}
		if current == uploadID {
			return nil
		}
		return ronghe.Errorf(ronghe.ECONFLICT, "file %s of submission %s has already arrived", file, messageID)
	})
}

// CompleteFile marks a file as arrived whole, stored under blobKey.
// Completing it again with the same key is a no-op; with a different key it
// gives ECONFLICT.
func (db *DB) CompleteFile(ctx context.Context, tenant, messageID, file, blobKey string) error {
	if strings.TrimSpace(blobKey) == "" {
		return ronghe.Errorf(ronghe.EINVALID, "blob key is required")
	}
	return db.inTx(ctx, "complete file", func(c conn) error {
		return completeFile(ctx, c, tenant, messageID, file, blobKey)
	})
}

func completeFile(ctx context.Context, c conn, tenant, messageID, file, blobKey string) error {
	res, err := c.execCached(ctx, `UPDATE submission_files SET done = ?, blob_key = ?
		WHERE tenant = ? AND message_id = ? AND name = ? AND done = ?`, true, blobKey, tenant, messageID, file, false)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 1 {
		return nil
	}
	_, current, done, err := fileState(ctx, c, tenant, messageID, file)
	if err != nil {
		return err
	}
	if done && current == blobKey {
		return nil
	}
	return ronghe.Errorf(ronghe.ECONFLICT, "file %s of submission %s is already complete under another blob", file, messageID)
}

// AcceptSubmission moves the tenant's submission from uploading to accepted
// with its log index and receipt, once. It fails with ECONFLICT if the
// submission is already accepted or if any of its files is not complete, and
// with ENOTFOUND if the tenant has no such submission.
func (db *DB) AcceptSubmission(ctx context.Context, tenant, messageID string, at time.Time, logIndex uint64, receipt []byte) error {
	return db.AcceptSubmissionFiles(ctx, tenant, messageID, nil, at, logIndex, receipt)
}

// AcceptSubmissionFiles is CompleteFile for each of files (file name → blob
// key) and AcceptSubmission, in one transaction: the files are recorded
// exactly when the acceptance is. A file already complete under another
// key is ECONFLICT.
func (db *DB) AcceptSubmissionFiles(ctx context.Context, tenant, messageID string, files map[string]string, at time.Time, logIndex uint64, receipt []byte) error {
	for _, key := range files {
		if strings.TrimSpace(key) == "" {
			return ronghe.Errorf(ronghe.EINVALID, "blob key is required")
		}
	}
	if at.IsZero() {
		return ronghe.Errorf(ronghe.EINVALID, "acceptance time is required")
	}
	if len(receipt) == 0 {
		return ronghe.Errorf(ronghe.EINVALID, "a receipt is required")
	}
	li, err := logIndexArg(logIndex)
	if err != nil {
		return err
	}
	return db.writeSubmission(ctx, "accept submission", func(ctx context.Context, c conn, acc *acceptedSubs) error {
		for file, key := range files {
			if err := completeFile(ctx, c, tenant, messageID, file, key); err != nil {
				return err
			}
		}
		res, err := c.execCached(ctx, `UPDATE submissions SET status = ?, accepted_at = ?, log_index = ?, receipt = ?
			WHERE tenant = ? AND message_id = ? AND status = ?
			AND NOT EXISTS (SELECT 1 FROM submission_files f
				WHERE f.tenant = submissions.tenant AND f.message_id = submissions.message_id AND f.done = ?)`,
			ronghe.SubmissionAccepted, db.d.timeArg(at), li, receipt,
			tenant, messageID, ronghe.SubmissionUploading, false)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			acc.add(tenant, messageID)
			return nil
		}
		var status string
		err = c.queryRow(ctx, `SELECT status FROM submissions WHERE tenant = ? AND message_id = ?`, tenant, messageID).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return errSubmissionNotFound(messageID)
		} else if err != nil {
			return err
		}
		if status == ronghe.SubmissionAccepted {
			return ronghe.Errorf(ronghe.ECONFLICT, "submission %s is already accepted", messageID)
		}
		return ronghe.Errorf(ronghe.ECONFLICT, "submission %s still has files to upload", messageID)
	})
}

// OnAccept sets fn to run inside the transaction in which AcceptSubmission
// accepts a submission, after the acceptance: what fn writes with tx commits
// exactly when the acceptance does, and an error from fn undoes the
// acceptance. The platform enqueues the submission's processing there on
// SQLite (the job and the acceptance are one commit). Set it before use.
func (db *DB) OnAccept(fn func(ctx context.Context, tx *sql.Tx, tenant, messageID string) error) {
	if fn == nil {
		db.onAcceptMany = nil
		return
	}
	db.onAcceptMany = func(ctx context.Context, tx *sql.Tx, tenants, messageIDs []string) error {
		for i := range tenants {
			if err := fn(ctx, tx, tenants[i], messageIDs[i]); err != nil {
				return err
			}
		}
		return nil
	}
}

// OnAcceptMany is OnAccept for all the submissions one transaction accepts
// at once: on SQLite concurrent acceptances share a transaction (group
// commit), and fn runs once in it with every one of them (tenants[i],
// messageIDs[i]), after the acceptances. It replaces OnAccept's fn, and OnAccept replaces it. Set it
// before use.
func (db *DB) OnAcceptMany(fn func(ctx context.Context, tx *sql.Tx, tenants, messageIDs []string) error) {
	db.onAcceptMany = fn
}

// UsedBytes sums the declared file sizes of the tenant's submissions created
// at or after since, accepted or not: space is reserved when the manifest is
// accepted. Whole minutes come from submission_usage (CreateSubmission keeps
// it); only the minute since falls in, if since is not on a minute, is read
// from the submissions themselves.
func (db *DB) UsedBytes(ctx context.Context, tenant string, since time.Time) (int64, error) {
	since = normTime(since)
	next := since.Truncate(time.Minute)
	if next.Before(since) {
		next = next.Add(time.Minute)
	}
	var n int64
	err := db.pool().queryRowCached(ctx, `SELECT CAST(
		COALESCE((SELECT SUM(bytes) FROM submission_usage WHERE tenant = ? AND minute >= ?), 0) +
		COALESCE((SELECT SUM(total_bytes) FROM submissions WHERE tenant = ? AND created_at >= ? AND created_at < ?), 0)
		AS BIGINT)`, tenant, db.d.timeArg(next), tenant, db.d.timeArg(since), db.d.timeArg(next)).Scan(&n)
	if err != nil {
		return 0, db.dbErr("sum used bytes", err)
	}
	return n, nil
}
