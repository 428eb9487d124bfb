package httpapi

import (
	"context"
	"crypto/x509"
	"net/http"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/pki"
)

// authenticate resolves the verified client certificate of the connection to
// an institution and refuses the request with 401 when there is none, when
// the certificate names no institution, or when the store does not know the
// certificate, has it for another institution, or has revoked it, or does
// not know the institution. The tenant
// is put in the request context for the handler (Tenant) and for the upload
// store (set by the tenant hook).
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenant, err := s.tenantOf(r)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		ctx := withTenant(r.Context(), tenant)
		if s.tenantHook != nil {
			ctx = s.tenantHook(ctx, tenant)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// authenticateEnterprise is authenticate for enterprises: the certificate
// must name an enterprise (never an institution) and be registered to it.
func (s *Server) authenticateEnterprise(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uscc, err := s.partyOf(r, pki.EnterpriseOf)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(withTenant(r.Context(), uscc)))
	})
}

func (s *Server) tenantOf(r *http.Request) (string, error) {
	code, err := s.partyOf(r, pki.InstitutionOf)
	if err != nil {
		return "", err
	}
	// A certificate on record is not enough: its institution must be too
	// (one never created, or removed since, is nobody).
	if _, err := s.cfg.Institutions.FindInstitution(r.Context(), code); ronghe.ErrorCode(err) == ronghe.ENOTFOUND {
		return "", ronghe.Errorf(ronghe.EUNAUTHORIZED, "client certificate names institution %s, which is not registered", code)
	} else if err != nil {
		return "", err
	}
	return code, nil
}

// partyOf maps the connection's verified client certificate to the party
// identity that who extracts, checking the certificate against the store.
func (s *Server) partyOf(r *http.Request, who func(*x509.Certificate) (string, error)) (string, error) {
	// VerifiedChains is only set when the TLS stack verified the certificate
	// against the platform CA; PeerCertificates alone could be self-signed
	// under a tls.Config that merely requests a certificate.
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || len(r.TLS.VerifiedChains) == 0 {
		return "", ronghe.Errorf(ronghe.EUNAUTHORIZED, "this endpoint needs a client certificate issued by the platform CA")
	}
	cert := r.TLS.PeerCertificates[0]
	code, err := who(cert)
	if err != nil {
		return "", err
	}
	serial := pki.SerialHex(cert.SerialNumber)
	rec, err := s.cfg.Institutions.FindCertificate(r.Context(), serial)
	switch {
	case ronghe.ErrorCode(err) == ronghe.ENOTFOUND:
		return "", ronghe.Errorf(ronghe.EUNAUTHORIZED, "client certificate %s is not registered", serial)
	case err != nil:
		return "", err
	case rec.Owner != code:
		s.log.WarnContext(r.Context(), "client certificate owner mismatch", "serial", serial, "subject", code, "owner", rec.Owner)
		return "", ronghe.Errorf(ronghe.EUNAUTHORIZED, "client certificate %s is not registered", serial)
	case rec.RevokedAt != nil:
		return "", ronghe.Errorf(ronghe.EUNAUTHORIZED, "client certificate %s was revoked on %s", serial, rec.RevokedAt.UTC().Format("2006-01-02T15:04:05Z"))
	}
	return code, nil
}

// tenantFrom returns the authenticated tenant of ctx; handlers behind
// authenticate always have one.
func tenantFrom(ctx context.Context) (string, error) {
	t, ok := Tenant(ctx)
	if !ok {
		return "", ronghe.Errorf(ronghe.EUNAUTHORIZED, "not authenticated")
	}
	return t, nil
}
