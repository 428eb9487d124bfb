package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode"

	"github.com/ronghe/ronghe"
)

// validCode reports whether s can name a party or object: non-empty, at most
// 128 characters, no spaces or control characters.
func validCode(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// validKind reports whether k is a known party kind.
func validKind(k ronghe.PartyKind) bool {
	return k == ronghe.KindBank || k == ronghe.KindPayment || k == ronghe.KindOperator
}

// validStatus reports whether s is an institution status.
func validStatus(s string) bool { return s == ronghe.StatusActive || s == ronghe.StatusSuspended }

const institutionCols = `code, name, kind, suite, status, max_file_bytes, quota_bytes, created_at`

// CreateInstitution onboards a tenant. An empty Status means active and a
// zero CreatedAt means now; both are written back into inst. A code already
// taken gives ECONFLICT.
func (db *DB) CreateInstitution(ctx context.Context, inst *ronghe.Institution) error {
	if inst == nil {
		return ronghe.Errorf(ronghe.EINVALID, "institution is missing")
	}
	switch {
	case !validCode(inst.Code):
		return ronghe.Errorf(ronghe.EINVALID, "institution code %q is not valid", inst.Code)
	case strings.TrimSpace(inst.Name) == "":
		return ronghe.Errorf(ronghe.EINVALID, "institution name is required")
	case !validKind(inst.Kind):
		return ronghe.Errorf(ronghe.EINVALID, "institution kind %q is not one of bank, payment, operator", inst.Kind)
	case !inst.Suite.Valid():
		return ronghe.Errorf(ronghe.EUNSUPPORTED, "cryptographic suite %q is not supported", inst.Suite)
	case inst.Status != "" && !validStatus(inst.Status):
		return ronghe.Errorf(ronghe.EINVALID, "institution status %q is not one of active, suspended", inst.Status)
	case inst.MaxFileBytes < 0 || inst.QuotaBytes < 0:
		return ronghe.Errorf(ronghe.EINVALID, "institution size limits must not be negative")
	}
	rec := *inst
	if rec.Status == "" {
		rec.Status = ronghe.StatusActive
	}
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = time.Now()
	}
	rec.CreatedAt = normTime(rec.CreatedAt)
	res, err := db.pool().exec(ctx, `INSERT INTO institutions (`+institutionCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		rec.Code, rec.Name, string(rec.Kind), string(rec.Suite), rec.Status, rec.MaxFileBytes, rec.QuotaBytes, db.d.timeArg(rec.CreatedAt))
	if err != nil {
		return db.dbErr("create institution", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return db.dbErr("create institution", err)
	} else if n == 0 {
		return ronghe.Errorf(ronghe.ECONFLICT, "institution %s already exists", rec.Code)
	}
	*inst = rec
	return nil
}

// scanInstitution reads one row of institutionCols.
func scanInstitution(row interface{ Scan(...any) error }) (*ronghe.Institution, error) {
	var in ronghe.Institution
	var kind, suite string
	if err := row.Scan(&in.Code, &in.Name, &kind, &suite, &in.Status, &in.MaxFileBytes, &in.QuotaBytes, timeCol{&in.CreatedAt}); err != nil {
		return nil, err
	}
	in.Kind = ronghe.PartyKind(kind)
	in.Suite = ronghe.Suite(suite)
	return &in, nil
}

// FindInstitution returns the institution with the given code, or ENOTFOUND.
func (db *DB) FindInstitution(ctx context.Context, code string) (*ronghe.Institution, error) {
	in, err := scanInstitution(db.pool().queryRowCached(ctx, `SELECT `+institutionCols+` FROM institutions WHERE code = ?`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ronghe.Errorf(ronghe.ENOTFOUND, "institution %s not found", code)
	} else if err != nil {
		return nil, db.dbErr("find institution", err)
	}
	return in, nil
}

// ListInstitutions returns the institutions the filter selects, ordered by
// code.
func (db *DB) ListInstitutions(ctx context.Context, f ronghe.InstitutionFilter) ([]*ronghe.Institution, error) {
	q := `SELECT ` + institutionCols + ` FROM institutions WHERE 1 = 1`
	var args []any
	if f.Code != "" {
		q += ` AND code = ?`
		args = append(args, f.Code)
	}
	if f.Kind != "" {
		q += ` AND kind = ?`
		args = append(args, string(f.Kind))
	}
	q += ` ORDER BY code`
	rows, err := db.pool().query(ctx, q, args...)
	if err != nil {
		return nil, db.dbErr("list institutions", err)
	}
	defer rows.Close()
	var out []*ronghe.Institution
	for rows.Next() {
		in, err := scanInstitution(rows)
		if err != nil {
			return nil, db.dbErr("list institutions", err)
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, db.dbErr("list institutions", err)
	}
	return out, nil
}

// UpdateInstitutionStatus activates or suspends an institution. Setting the
// status it already has is not an error.
func (db *DB) UpdateInstitutionStatus(ctx context.Context, code, status string) error {
	if !validStatus(status) {
		return ronghe.Errorf(ronghe.EINVALID, "institution status %q is not one of active, suspended", status)
	}
	res, err := db.pool().exec(ctx, `UPDATE institutions SET status = ? WHERE code = ?`, status, code)
	if err != nil {
		return db.dbErr("update institution status", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return db.dbErr("update institution status", err)
	} else if n == 0 {
		return ronghe.Errorf(ronghe.ENOTFOUND, "institution %s not found", code)
	}
	return nil
}

const keyCols = `id, owner, suite, public_key_pem, valid_from, revoked_at, revoke_reason`

// RegisterKey stores a public signing key. A zero ValidFrom means now and is
// written back into key. The key ID is the key's fingerprint, so an ID that is
// already registered, to any owner, gives ECONFLICT.
func (db *DB) RegisterKey(ctx context.Context, key *ronghe.Key) error {
	if key == nil {
		return ronghe.Errorf(ronghe.EINVALID, "key is missing")
	}
	switch {
	case !validCode(key.ID):
		return ronghe.Errorf(ronghe.EINVALID, "key ID %q is not valid", key.ID)
	case !validCode(key.Owner):
		return ronghe.Errorf(ronghe.EINVALID, "key owner %q is not valid", key.Owner)
	case !key.Suite.Valid():
		return ronghe.Errorf(ronghe.EUNSUPPORTED, "cryptographic suite %q is not supported", key.Suite)
	case strings.TrimSpace(key.PublicKeyPEM) == "":
		return ronghe.Errorf(ronghe.EINVALID, "public key is required")
	case key.RevokedAt != nil && key.RevokeReason == "":
		return ronghe.Errorf(ronghe.EINVALID, "a revoked key needs a revocation reason")
	}
	rec := *key
	if rec.ValidFrom.IsZero() {
		rec.ValidFrom = time.Now()
	}
	rec.ValidFrom = normTime(rec.ValidFrom)
	rec.RevokedAt = normTimePtr(rec.RevokedAt)
	res, err := db.pool().exec(ctx, `INSERT INTO party_keys (`+keyCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		rec.ID, rec.Owner, string(rec.Suite), rec.PublicKeyPEM, db.d.timeArg(rec.ValidFrom), db.d.timePtrArg(rec.RevokedAt), rec.RevokeReason)
	if err != nil {
		return db.dbErr("register key", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return db.dbErr("register key", err)
	} else if n == 0 {
		return ronghe.Errorf(ronghe.ECONFLICT, "key %s is already registered", rec.ID)
	}
	*key = rec
	return nil
}

// scanKey reads one row of keyCols.
func scanKey(row interface{ Scan(...any) error }) (*ronghe.Key, error) {
	var k ronghe.Key
	var suite string
	if err := row.Scan(&k.ID, &k.Owner, &suite, &k.PublicKeyPEM, timeCol{&k.ValidFrom}, nullTimeCol{&k.RevokedAt}, &k.RevokeReason); err != nil {
		return nil, err
	}
	k.Suite = ronghe.Suite(suite)
	return &k, nil
}

// FindKey returns owner's key with the given ID. A key of another owner is
// ENOTFOUND, exactly like a missing one.
func (db *DB) FindKey(ctx context.Context, owner, id string) (*ronghe.Key, error) {
	k, err := scanKey(db.pool().queryRowCached(ctx, `SELECT `+keyCols+` FROM party_keys WHERE owner = ? AND id = ?`, owner, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ronghe.Errorf(ronghe.ENOTFOUND, "key %s not found", id)
	} else if err != nil {
		return nil, db.dbErr("find key", err)
	}
	return k, nil
}

// ListKeys returns every key of owner, revoked ones included, oldest first.
func (db *DB) ListKeys(ctx context.Context, owner string) ([]*ronghe.Key, error) {
	rows, err := db.pool().query(ctx, `SELECT `+keyCols+` FROM party_keys WHERE owner = ? ORDER BY valid_from, id`, owner)
	if err != nil {
		return nil, db.dbErr("list keys", err)
	}
	defer rows.Close()
	var out []*ronghe.Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, db.dbErr("list keys", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, db.dbErr("list keys", err)
	}
	return out, nil
}

// RevokeKey ends the validity of owner's key at the given time. The key is
// kept so that signatures made before then still verify. A key already
// revoked gives ECONFLICT; another owner's key gives ENOTFOUND.
func (db *DB) RevokeKey(ctx context.Context, owner, id string, at time.Time, reason string) error {
	if at.IsZero() {
		return ronghe.Errorf(ronghe.EINVALID, "revocation time is required")
	}
	if strings.TrimSpace(reason) == "" {
		return ronghe.Errorf(ronghe.EINVALID, "a revocation reason is required")
	}
	return db.inTx(ctx, "revoke key", func(c conn) error {
		res, err := c.exec(ctx, `UPDATE party_keys SET revoked_at = ?, revoke_reason = ?
			WHERE owner = ? AND id = ? AND revoked_at IS NULL`, db.d.timeArg(at), reason, owner, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			return nil
		}
		var one int
		err = c.queryRow(ctx, `SELECT 1 FROM party_keys WHERE owner = ? AND id = ?`, owner, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ronghe.Errorf(ronghe.ENOTFOUND, "key %s not found", id)
		} else if err != nil {
			return err
		}
		return ronghe.Errorf(ronghe.ECONFLICT, "key %s is already revoked", id)
	})
}

const certCols = `serial, owner, not_before, not_after, revoked_at, pem`

// normSerial is the stored form of a certificate serial: lower-case hex, as
// math/big prints it, so that lookups do not depend on the caller's case.
func normSerial(s string) string { return strings.ToLower(s) }

// validSerial reports whether s is a non-empty hex string.
func validSerial(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// AddCertificate records a certificate the platform CA issued. Its serial is
// stored in lower case and written back into cert; a serial already recorded
// gives ECONFLICT.
func (db *DB) AddCertificate(ctx context.Context, cert *ronghe.Certificate) error {
	if cert == nil {
		return ronghe.Errorf(ronghe.EINVALID, "certificate is missing")
	}
	switch {
	case !validSerial(cert.Serial):
		return ronghe.Errorf(ronghe.EINVALID, "certificate serial %q is not hexadecimal", cert.Serial)
	case !validCode(cert.Owner):
		return ronghe.Errorf(ronghe.EINVALID, "certificate owner %q is not valid", cert.Owner)
	case cert.NotBefore.IsZero() || cert.NotAfter.IsZero() || !cert.NotAfter.After(cert.NotBefore):
		return ronghe.Errorf(ronghe.EINVALID, "certificate validity period is empty")
	case strings.TrimSpace(cert.PEM) == "":
		return ronghe.Errorf(ronghe.EINVALID, "certificate PEM is required")
	}
	rec := *cert
	rec.Serial = normSerial(rec.Serial)
	rec.NotBefore = normTime(rec.NotBefore)
	rec.NotAfter = normTime(rec.NotAfter)
	rec.RevokedAt = normTimePtr(rec.RevokedAt)
	res, err := db.pool().exec(ctx, `INSERT INTO certificates (`+certCols+`)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		rec.Serial, rec.Owner, db.d.timeArg(rec.NotBefore), db.d.timeArg(rec.NotAfter), db.d.timePtrArg(rec.RevokedAt), rec.PEM)
	if err != nil {
		return db.dbErr("add certificate", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return db.dbErr("add certificate", err)
	} else if n == 0 {
		return ronghe.Errorf(ronghe.ECONFLICT, "certificate %s is already recorded", rec.Serial)
	}
	*cert = rec
	return nil
}

// FindCertificate returns the certificate with the given serial (any case),
// or ENOTFOUND.
func (db *DB) FindCertificate(ctx context.Context, serial string) (*ronghe.Certificate, error) {
	var c ronghe.Certificate
	err := db.pool().queryRowCached(ctx, `SELECT `+certCols+` FROM certificates WHERE serial = ?`, normSerial(serial)).
		Scan(&c.Serial, &c.Owner, timeCol{&c.NotBefore}, timeCol{&c.NotAfter}, nullTimeCol{&c.RevokedAt}, &c.PEM)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ronghe.Errorf(ronghe.ENOTFOUND, "certificate %s not found", serial)
	} else if err != nil {
		return nil, db.dbErr("find certificate", err)
	}
	return &c, nil
}

// RevokeCertificate revokes a certificate from the given time on. A
// certificate already revoked gives ECONFLICT, an unknown one ENOTFOUND.
func (db *DB) RevokeCertificate(ctx context.Context, serial string, at time.Time) error {
	if at.IsZero() {
		return ronghe.Errorf(ronghe.EINVALID, "revocation time is required")
	}
	serial = normSerial(serial)
	return db.inTx(ctx, "revoke certificate", func(c conn) error {
		res, err := c.exec(ctx, `UPDATE certificates SET revoked_at = ? WHERE serial = ? AND revoked_at IS NULL`, db.d.timeArg(at), serial)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			return nil
		}
		var one int
		err = c.queryRow(ctx, `SELECT 1 FROM certificates WHERE serial = ?`, serial).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ronghe.Errorf(ronghe.ENOTFOUND, "certificate %s not found", serial)
		} else if err != nil {
			return err
		}
		return ronghe.Errorf(ronghe.ECONFLICT, "certificate %s is already revoked", serial)
	})
}
