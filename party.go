package ronghe

import (
	"context"
	"time"
)

// PartyKind says what role a party plays on the platform.
type PartyKind string

const (
	// KindBank is a reporting institution that is a bank.
	KindBank PartyKind = "bank"
	// KindPayment is a reporting institution that is a non-bank payment firm.
	KindPayment PartyKind = "payment"
	// KindOperator is the central-bank branch's data office running the platform.
	KindOperator PartyKind = "operator"
)

// Institution is a tenant: a bank or payment firm that reports to the platform.
// Its code is the tenant ID that scopes every stored object.
type Institution struct {
	// Code is the 14-character institution code of RRS-1; it names the tenant
	// and is the sender of every batch the institution submits.
	Code string `json:"code"`
	// Name is the registered legal name, e.g. "中国工商银行股份有限公司广州分行".
	Name string `json:"name"`
	// Kind distinguishes banks, payment firms and the operator.
	Kind PartyKind `json:"kind"`
	// Suite is the cryptographic suite the institution chose at onboarding; its
	// submissions are hashed, signed and encrypted with it.
	Suite Suite `json:"suite"`
	// Status is "active" or "suspended"; a suspended institution can read its
	// mailbox but cannot submit.
	Status string `json:"status"`
	// MaxFileBytes caps the size of one uploaded file.
	MaxFileBytes int64 `json:"max_file_bytes"`
	// QuotaBytes caps the bytes the institution may have stored per business
	// day; 0 means the platform default.
	QuotaBytes int64 `json:"quota_bytes"`
	// CreatedAt is when the institution was onboarded.
	CreatedAt time.Time `json:"created_at"`
}

// Institution statuses.
const (
	StatusActive    = "active"
	StatusSuspended = "suspended"
)

// Key is a registered public signing key of a party. Keys are never deleted:
// a revoked key still verifies signatures made while it was valid.
type Key struct {
	// ID is the key's fingerprint (suite-prefixed digest of its SPKI), quoted
	// in manifests and acknowledgments as key_id.
	ID string `json:"id"`
	// Owner is the institution code (or enterprise USCC) the key belongs to.
	Owner string `json:"owner"`
	// Suite is the key's algorithm family.
	Suite Suite `json:"suite"`
	// PublicKeyPEM is the PKIX SubjectPublicKeyInfo in PEM form.
	PublicKeyPEM string `json:"public_key_pem"`
	// ValidFrom is when the key was registered; signatures claiming an earlier
	// time are not accepted under it.
	ValidFrom time.Time `json:"valid_from"`
	// RevokedAt is when the key stopped being valid, nil while it is valid.
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// RevokeReason is the operator's or owner's stated reason.
	RevokeReason string `json:"revoke_reason,omitempty"`
}

// ValidAt reports whether the key was valid at t.
func (k *Key) ValidAt(t time.Time) bool {
	if t.Before(k.ValidFrom) {
		return false
	}
	return k.RevokedAt == nil || t.Before(*k.RevokedAt)
}

// Certificate is a client certificate the platform CA issued to a party for
// mutual TLS. The serial is checked on every connection so that a revoked
// certificate is refused before its expiry.
type Certificate struct {
	// Serial is the certificate serial number in hex.
	Serial string `json:"serial"`
	// Owner is the institution code in the certificate's subject.
	Owner string `json:"owner"`
	// NotBefore and NotAfter bound the certificate's validity.
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// RevokedAt is set when the certificate is revoked.
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// PEM is the certificate itself.
	PEM string `json:"pem"`
}

// InstitutionFilter selects institutions in a listing.
type InstitutionFilter struct {
	// Code, when set, selects one institution.
	Code string
	// Kind, when set, selects one kind.
	Kind PartyKind
}

// InstitutionService manages tenants, their keys and their certificates.
type InstitutionService interface {
	CreateInstitution(ctx context.Context, inst *Institution) error
	FindInstitution(ctx context.Context, code string) (*Institution, error)
	ListInstitutions(ctx context.Context, f InstitutionFilter) ([]*Institution, error)
	UpdateInstitutionStatus(ctx context.Context, code, status string) error

	RegisterKey(ctx context.Context, key *Key) error
	FindKey(ctx context.Context, owner, id string) (*Key, error)
	ListKeys(ctx context.Context, owner string) ([]*Key, error)
	RevokeKey(ctx context.Context, owner, id string, at time.Time, reason string) error

	AddCertificate(ctx context.Context, cert *Certificate) error
	FindCertificate(ctx context.Context, serial string) (*Certificate, error)
	RevokeCertificate(ctx context.Context, serial string, at time.Time) error
}
