package ronghe

import (
	"context"
	"time"
)

// Enterprise is a data subject: an account-holding company identified by its
// unified social credit code. It authorizes institutions to obtain its flow
// report, sees every query made about it, and may dispute what was reported.
type Enterprise struct {
	// USCC is the 18-character unified social credit code (GB 32100-2015).
	USCC string `json:"uscc"`
	// Name is the registered name.
	Name string `json:"name"`
	// Suite is the suite of the enterprise's signing keys.
	Suite Suite `json:"suite"`
	// Status is StatusActive or StatusSuspended.
	Status string `json:"status"`
	// CreatedAt is when the enterprise was onboarded.
	CreatedAt time.Time `json:"created_at"`
}

// Authorization purposes and scopes of RRS-1 §6.
const (
	PurposeLoanApplication = "LOAN_APPLICATION"
	PurposePostLoan        = "POST_LOAN"
	ScopeFlowReport        = "FLOW_REPORT"
)

// Authorization is an enterprise's signed, registered permission for one
// institution to query it (授权前置). It authorizes nothing outside
// [NotBefore, NotAfter) or after RevokedAt.
type Authorization struct {
	// ID is the platform-assigned authorization ID, quoted by the grantee in
	// every query.
	ID string `json:"id"`
	// Enterprise is the authorizing enterprise's USCC.
	Enterprise string `json:"enterprise"`
	// Grantee is the authorized institution's code.
	Grantee string `json:"grantee"`
	// Purpose is PurposeLoanApplication or PurposePostLoan.
	Purpose string `json:"purpose"`
	// Scope lists what may be obtained; RRS-1 knows ScopeFlowReport.
	Scope []string `json:"scope"`
	// NotBefore and NotAfter bound the validity, at most 12 months apart.
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// Document is the exact signed authorization the enterprise submitted;
	// Digest its digest under the enterprise's suite; KeyID the signing key.
	Document []byte `json:"document"`
	Digest   []byte `json:"digest"`
	KeyID    string `json:"key_id"`
	// RegisteredAt and LogIndex record the registration and its log entry.
	RegisteredAt time.Time `json:"registered_at"`
	LogIndex     uint64    `json:"log_index"`
	// RevokedAt, RevocationDocument and RevokeLogIndex record a revocation.
	RevokedAt          *time.Time `json:"revoked_at,omitempty"`
	RevocationDocument []byte     `json:"revocation_document,omitempty"`
	RevokeLogIndex     *uint64    `json:"revoke_log_index,omitempty"`
}

// ValidAt reports whether the authorization authorizes anything at t.
func (a *Authorization) ValidAt(t time.Time) bool {
	if t.Before(a.NotBefore) || !t.Before(a.NotAfter) {
		return false
	}
	return a.RevokedAt == nil || t.Before(*a.RevokedAt)
}

// QueryRecord is the record of one query about an enterprise, kept where the
// enterprise can see it: granted or refused, who asked, when, why, and under
// which authorization.
type QueryRecord struct {
	// ID is the platform-assigned record ID.
	ID string `json:"id"`
	// Enterprise is the USCC queried about.
	Enterprise string `json:"enterprise"`
	// Institution is the querying institution's code.
	Institution string `json:"institution"`
	// Purpose and Scope are what the institution declared.
	Purpose string `json:"purpose"`
	Scope   string `json:"scope"`
	// AuthorizationID is the authorization quoted, possibly invalid.
	AuthorizationID string `json:"authorization_id"`
	// Granted says whether the query was answered; Reason says why not.
	Granted bool   `json:"granted"`
	Reason  string `json:"reason,omitempty"`
	// At is when the query was made; LogIndex its transparency-log entry.
	At       time.Time `json:"at"`
	LogIndex uint64    `json:"log_index"`
}

// PolicyStore keeps enterprises, authorizations and query records. Queries by
// an institution never reveal whether an enterprise exists: only the
// enterprise itself, and the operator, list its records.
type PolicyStore interface {
	CreateEnterprise(ctx context.Context, e *Enterprise) error
	FindEnterprise(ctx context.Context, uscc string) (*Enterprise, error)

	// PutAuthorization stores a registered authorization; ECONFLICT if its ID
	// or its exact document is already stored.
	PutAuthorization(ctx context.Context, a *Authorization) error
	// FindAuthorization returns an authorization by ID.
	FindAuthorization(ctx context.Context, id string) (*Authorization, error)
	// ListAuthorizations lists an enterprise's authorizations, newest first.
	ListAuthorizations(ctx context.Context, enterprise string) ([]*Authorization, error)
	// RevokeAuthorization records a revocation once; ECONFLICT if revoked.
	RevokeAuthorization(ctx context.Context, enterprise, id string, at time.Time, document []byte, logIndex uint64) error

	// PutQueryRecord stores a query record.
	PutQueryRecord(ctx context.Context, q *QueryRecord) error
	// ListQueryRecords lists the records about an enterprise, newest first.
	ListQueryRecords(ctx context.Context, enterprise string, limit int) ([]*QueryRecord, error)
}
