// Package policy is authorization first (授权前置, RRS-1 §6): enterprises
// register signed authorizations for named institutions, revoke them, and see
// every query made about them; an institution's query is answered only under
// a valid, matching authorization registered before it, and every query —
// granted or refused — is recorded and logged in the transparency log.
package policy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/suite"
	"github.com/ronghe/ronghe/tlog"
)

// Signed document types an enterprise submits.
const (
	TypeAuthorization = "ronghe.authorization/v1"
	TypeRevocation    = "ronghe.revocation/v1"
)

// MaxValidity is the longest an authorization may run (RRS-1 §6: at most 12
// months), counted in calendar months in Asia/Shanghai.
const MaxValidityMonths = 12

// AuthorizationDoc is the payload an enterprise signs to authorize an
// institution.
type AuthorizationDoc struct {
	Type       string    `json:"type"`
	Enterprise string    `json:"enterprise"`
	Grantee    string    `json:"grantee"`
	Purpose    string    `json:"purpose"`
	Scope      []string  `json:"scope"`
	NotBefore  time.Time `json:"not_before"`
	NotAfter   time.Time `json:"not_after"`
	// Nonce makes two otherwise equal authorizations distinct documents.
	Nonce string `json:"nonce"`
	// SignedAt is when the enterprise signed; the key must be valid then.
	SignedAt time.Time `json:"signed_at"`
}

// RevocationDoc is the payload an enterprise signs to revoke an authorization.
type RevocationDoc struct {
	Type            string    `json:"type"`
	Enterprise      string    `json:"enterprise"`
	AuthorizationID string    `json:"authorization_id"`
	SignedAt        time.Time `json:"signed_at"`
}

// Keys finds a party's registered keys.
type Keys interface {
	FindKey(ctx context.Context, owner, id string) (*ronghe.Key, error)
}

// Institutions finds grantees.
type Institutions interface {
	FindInstitution(ctx context.Context, code string) (*ronghe.Institution, error)
}

// Log is the transparency log's append side.
type Log interface {
	Append(ctx context.Context, leaf []byte) (uint64, error)
}

// Config wires a Service.
type Config struct {
	Store        ronghe.PolicyStore
	Keys         Keys
	Institutions Institutions
	Log          Log
	Now          func() time.Time
	Logger       *slog.Logger
}

// Service enforces authorization first.
type Service struct{ cfg Config }

// New returns a policy service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{cfg: cfg}
}

// verifyEnterpriseDoc parses a signed document of the enterprise, checks its
// single signature under the enterprise's key valid at signedAt and now, and
// decodes its payload into v.
func (s *Service) verifyEnterpriseDoc(ctx context.Context, enterprise, wantType string, raw []byte, v any, signedAt func() time.Time) (*evidence.Signed, *ronghe.Enterprise, error) {
	ent, err := s.cfg.Store.FindEnterprise(ctx, enterprise)
	if err != nil {
		return nil, nil, err
	}
	if ent.Status != ronghe.StatusActive {
		return nil, nil, ronghe.Errorf(ronghe.EFORBIDDEN, "enterprise %s is %s", enterprise, ent.Status)
	}
	doc, err := evidence.Parse(raw)
	if err != nil {
		return nil, nil, err
	}
	if len(doc.Signatures) != 1 {
		return nil, nil, ronghe.Errorf(ronghe.EINVALID, "the document must carry exactly one signature, the enterprise's")
	}
	key, err := s.cfg.Keys.FindKey(ctx, enterprise, doc.Signatures[0].KeyID)
	if ronghe.ErrorCode(err) == ronghe.ENOTFOUND {
		return nil, nil, ronghe.Errorf(ronghe.EINTEGRITY, "key %s is not registered for enterprise %s", doc.Signatures[0].KeyID, enterprise)
	} else if err != nil {
		return nil, nil, err
	}
	pub, err := suite.ParsePublicKeyPEM([]byte(key.PublicKeyPEM))
	if err != nil {
		return nil, nil, err
	}
	if err := doc.Verify(wantType, []*suite.PublicKey{pub}, v); err != nil {
		return nil, nil, err
	}
	now := s.cfg.Now()
	if at := signedAt(); !key.ValidAt(at) || !key.ValidAt(now) {
		return nil, nil, ronghe.Errorf(ronghe.EEXPIRED, "key %s of %s is not valid at signing time or now", key.ID, enterprise)
	}
	return doc, ent, nil
}

// Register verifies and registers an authorization the enterprise signed,
// and logs it. Registering the same document again returns the stored
// authorization.
func (s *Service) Register(ctx context.Context, enterprise string, raw []byte) (*ronghe.Authorization, error) {
	var d AuthorizationDoc
	doc, ent, err := s.verifyEnterpriseDoc(ctx, enterprise, TypeAuthorization, raw, &d, func() time.Time { return d.SignedAt })
	if err != nil {
		return nil, err
	}
	digest := suite.Digest(ent.Suite, doc.Payload)
	id := "AU" + hex.EncodeToString(digest[:12])
	if existing, err := s.cfg.Store.FindAuthorization(ctx, id); err == nil && existing.Enterprise == enterprise {
		return existing, nil
	}
	if err := s.checkDoc(ctx, enterprise, &d); err != nil {
		return nil, err
	}
	now := s.cfg.Now().UTC()
	index, err := s.cfg.Log.Append(ctx, tlog.Event{Kind: tlog.KindAuthorizationRegistered, Tenant: enterprise, MessageID: id, Digest: digest, Time: now}.Leaf())
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "transparency log unavailable; register again later")
	}
	a := &ronghe.Authorization{
		ID: id, Enterprise: enterprise, Grantee: d.Grantee, Purpose: d.Purpose, Scope: d.Scope,
		NotBefore: d.NotBefore.UTC(), NotAfter: d.NotAfter.UTC(), Document: raw, Digest: digest,
		KeyID: doc.Signatures[0].KeyID, RegisteredAt: now, LogIndex: index,
	}
	if err := s.cfg.Store.PutAuthorization(ctx, a); err != nil {
		if ronghe.ErrorCode(err) == ronghe.ECONFLICT {
			return s.cfg.Store.FindAuthorization(ctx, id)
		}
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "authorization registered", "enterprise", enterprise, "grantee", d.Grantee, "id", id, "log_index", index)
	return a, nil
}

// checkDoc checks what an authorization says against RRS-1 §6.
func (s *Service) checkDoc(ctx context.Context, enterprise string, d *AuthorizationDoc) error {
	switch {
	case d.Enterprise != enterprise:
		return ronghe.Errorf(ronghe.EFORBIDDEN, "the document authorizes for %s, not for the signing enterprise", d.Enterprise)
	case d.Purpose != ronghe.PurposeLoanApplication && d.Purpose != ronghe.PurposePostLoan:
		return ronghe.Errorf(ronghe.EINVALID, "purpose must be %s or %s", ronghe.PurposeLoanApplication, ronghe.PurposePostLoan)
	case len(d.Scope) == 0:
		return ronghe.Errorf(ronghe.EINVALID, "scope is empty")
	case !d.NotBefore.Before(d.NotAfter):
		return ronghe.Errorf(ronghe.EINVALID, "not_after must be after not_before")
	case d.NotAfter.After(d.NotBefore.In(rrs.Shanghai).AddDate(0, MaxValidityMonths, 0)):
		return ronghe.Errorf(ronghe.EINVALID, "an authorization may run at most %d months", MaxValidityMonths)
	case !d.NotAfter.After(s.cfg.Now()):
		return ronghe.Errorf(ronghe.EINVALID, "the authorization has already expired")
	case d.Nonce == "" || len(d.Nonce) > 64:
		return ronghe.Errorf(ronghe.EINVALID, "nonce must be 1-64 characters")
	}
	for _, sc := range d.Scope {
		if sc != ronghe.ScopeFlowReport {
			return ronghe.Errorf(ronghe.EINVALID, "scope %q is not known; RRS-1 knows %s", sc, ronghe.ScopeFlowReport)
		}
	}
	inst, err := s.cfg.Institutions.FindInstitution(ctx, d.Grantee)
	if ronghe.ErrorCode(err) == ronghe.ENOTFOUND {
		return ronghe.Errorf(ronghe.EINVALID, "grantee %s is not a reporting institution", d.Grantee)
	} else if err != nil {
		return err
	}
	if inst.Kind == ronghe.KindOperator {
		return ronghe.Errorf(ronghe.EINVALID, "the operator needs no authorization")
	}
	return nil
}

// Revoke records the enterprise's signed revocation; from then on the
// authorization authorizes nothing. Revoking again returns the revoked one.
func (s *Service) Revoke(ctx context.Context, enterprise string, raw []byte) (*ronghe.Authorization, error) {
	var d RevocationDoc
	doc, ent, err := s.verifyEnterpriseDoc(ctx, enterprise, TypeRevocation, raw, &d, func() time.Time { return d.SignedAt })
	if err != nil {
		return nil, err
	}
	if d.Enterprise != enterprise {
		return nil, ronghe.Errorf(ronghe.EFORBIDDEN, "the revocation is for %s, not for the signing enterprise", d.Enterprise)
	}
	a, err := s.cfg.Store.FindAuthorization(ctx, d.AuthorizationID)
	if err != nil || a.Enterprise != enterprise {
		return nil, ronghe.Errorf(ronghe.ENOTFOUND, "authorization not found")
	}
	if a.RevokedAt != nil {
		return a, nil
	}
	now := s.cfg.Now().UTC()
	digest := suite.Digest(ent.Suite, doc.Payload)
	index, err := s.cfg.Log.Append(ctx, tlog.Event{Kind: tlog.KindAuthorizationRevoked, Tenant: enterprise, MessageID: a.ID, Digest: digest, Time: now}.Leaf())
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "transparency log unavailable; revoke again later")
	}
	if err := s.cfg.Store.RevokeAuthorization(ctx, enterprise, a.ID, now, raw, index); err != nil && ronghe.ErrorCode(err) != ronghe.ECONFLICT {
		return nil, err
	}
	return s.cfg.Store.FindAuthorization(ctx, a.ID)
}

// Query is an institution's request to obtain something about an enterprise.
type Query struct {
	// Institution is the authenticated querying institution.
	Institution string
	// Enterprise is the USCC queried about.
	Enterprise string
	// AuthorizationID is the authorization the institution relies on.
	AuthorizationID string
	// Purpose and Scope are what the institution declares; both must match
	// the authorization.
	Purpose string
	Scope   string
}

// refusal is the one answer every refused query gets, whatever the reason,
// so that a refusal says nothing about whether the enterprise exists or what
// it authorized.
const refusal = "no valid authorization for this query"

// Authorize decides a query and records it — granted or refused — where the
// enterprise can see it and in the transparency log. A refused query is an
// EFORBIDDEN error with the same message whatever the reason; the reason is
// kept in the record for the enterprise and the operator.
func (s *Service) Authorize(ctx context.Context, q Query) (*ronghe.QueryRecord, *ronghe.Authorization, error) {
	return s.AuthorizeThen(ctx, q, nil)
}

// AuthorizeThen is Authorize calling granted (when not nil) as soon as the
// query is decided and granted, before it is logged and recorded, so that
// the caller can start preparing its answer while the log and the store
// commit (a report reads its facts). granted is not called for a refused
// query. Nothing may be answered before AuthorizeThen returns the record:
// a query that cannot be recorded is not made.
func (s *Service) AuthorizeThen(ctx context.Context, q Query, granted func()) (*ronghe.QueryRecord, *ronghe.Authorization, error) {
	if !rrs.ValidUSCC(q.Enterprise) {
		return nil, nil, ronghe.Errorf(ronghe.EINVALID, "%q is not a valid unified social credit code", q.Enterprise)
	}
	now := s.cfg.Now().UTC()
	a, reason := s.decide(ctx, q, now)
	if reason == "" && granted != nil {
		granted()
	}
	id, err := newQueryID(now)
	if err != nil {
		return nil, nil, err
	}
	rec := &ronghe.QueryRecord{
		ID: id, Enterprise: q.Enterprise, Institution: q.Institution, Purpose: q.Purpose, Scope: q.Scope,
		AuthorizationID: q.AuthorizationID, Granted: reason == "", Reason: reason, At: now,
	}
	body, _ := json.Marshal(rec)
	index, err := s.cfg.Log.Append(ctx, tlog.Event{Kind: tlog.KindQueryRecorded, Tenant: q.Enterprise, MessageID: id,
		Digest: suite.Digest(ronghe.SuiteGM, body), Time: now}.Leaf())
	if err != nil {
		// No record, no answer: a query that cannot be recorded is not made.
		return nil, nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "transparency log unavailable; query again later")
	}
	rec.LogIndex = index
	if err := s.cfg.Store.PutQueryRecord(ctx, rec); err != nil {
		return nil, nil, err
	}
	if reason != "" {
		s.cfg.Logger.InfoContext(ctx, "query refused", "institution", q.Institution, "enterprise", q.Enterprise, "reason", reason)
		return rec, nil, ronghe.Errorf(ronghe.EFORBIDDEN, refusal)
	}
	return rec, a, nil
}

// decide returns the authorization that grants q at now, or the reason it is
// refused.
func (s *Service) decide(ctx context.Context, q Query, now time.Time) (*ronghe.Authorization, string) {
	if q.AuthorizationID == "" {
		return nil, "no authorization quoted"
	}
	a, err := s.cfg.Store.FindAuthorization(ctx, q.AuthorizationID)
	switch {
	case err != nil:
		return nil, "authorization not found"
	case a.Enterprise != q.Enterprise:
		return nil, "authorization is for another enterprise"
	case a.Grantee != q.Institution:
		return nil, "authorization is for another institution"
	case a.Purpose != q.Purpose:
		return nil, fmt.Sprintf("declared purpose %s differs from the authorized %s", q.Purpose, a.Purpose)
	case !slices.Contains(a.Scope, q.Scope):
		return nil, fmt.Sprintf("scope %s is not authorized", q.Scope)
	case a.RevokedAt != nil && !now.Before(*a.RevokedAt):
		return nil, "authorization revoked"
	case now.Before(a.NotBefore):
		return nil, "authorization not yet valid"
	case !now.Before(a.NotAfter):
		return nil, "authorization expired"
	case now.Before(a.RegisteredAt):
		return nil, "authorization registered after the query"
	}
	return a, ""
}

// Authorizations lists the enterprise's own authorizations.
func (s *Service) Authorizations(ctx context.Context, enterprise string) ([]*ronghe.Authorization, error) {
	return s.cfg.Store.ListAuthorizations(ctx, enterprise)
}

// QueryRecords lists the queries made about the enterprise, for the
// enterprise itself.
func (s *Service) QueryRecords(ctx context.Context, enterprise string, limit int) ([]*ronghe.QueryRecord, error) {
	return s.cfg.Store.ListQueryRecords(ctx, enterprise, limit)
}

// newQueryID returns a query record's ID: "QR", then the record's time in
// Unix milliseconds (12 hex digits) and 10 random bytes (20 hex digits).
// IDs made later sort after earlier ones, so the records stored together
// land on the last page of the ID index instead of one random page each:
// a group commit of ten records wrote about 30 WAL pages with random IDs,
// 22 with these. The time is the record's own (At), which the record, its
// log entry and the report already show.
func newQueryID(at time.Time) (string, error) {
	var b [16]byte
	ms := uint64(at.UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (8 * (5 - i)))
	}
	if _, err := rand.Read(b[6:]); err != nil {
		return "", fmt.Errorf("policy: id: %w", err)
	}
	return "QR" + hex.EncodeToString(b[:]), nil
}
