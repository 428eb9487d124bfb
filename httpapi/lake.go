package httpapi

import (
	"context"
	"crypto/x509"
	"net/http"
	"reflect"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/pki"
)

// Lake is the lakehouse API for the operator's staff (lake/lakeapi): the
// data catalog, governed SQL and the query log. It is served on the same
// listener as the rest of the API, behind staff certificates only: banks and
// enterprises never reach it (they get reports).
type Lake struct {
	// Handler serves GET /v1/lake/catalog, POST /v1/lake/sql and
	// GET /v1/lake/query-log (lakeapi.Handler). It finds the authenticated
	// staff member with StaffFrom; it never sees an unauthenticated request.
	Handler http.Handler
	// Catalog, Query, Result and Log are the Go types of the bodies, for the
	// OpenAPI document: []ronghe.LakeTable, ronghe.LakeQuery,
	// ronghe.LakeResult and []ronghe.LakeLogEntry.
	Catalog, Query, Result, Log reflect.Type
}

// lakeRoutes declares the staff's lake routes.
func (s *Server) lakeRoutes() []route {
	lk := s.cfg.Lake
	if lk == nil {
		return nil
	}
	h := foreignProblems(s.log, lk.Handler)
	return []route{
		{
			method: "GET", path: "/v1/lake/catalog", id: "lakeCatalog", tag: "lake", staff: true,
			summary: "The lake's data catalog (staff only)",
			description: "Every lake table with its columns, their RRS-1 data-security level (JR/T 0197-2020) and personal-information " +
				"category (JR/T 0171-2020), row counts, data files, snapshots and freshness (the latest business date, per institution). " +
				"Needs a staff certificate; an institution's or enterprise's certificate is refused with 403.",
			responses: []response{{status: 200, description: "one entry per table", contentType: "application/json", typ: lk.Catalog}},
			problems:  []int{403},
			raw:       h,
		},
		{
			method: "POST", path: "/v1/lake/sql", id: "lakeSQL", tag: "lake", staff: true,
			summary: "One governed, logged, read-only query over the lake (staff only)",
			description: "A single SELECT over rrs.acct, rrs.txn, rrs.bal, rrs.gl, rrs.stat, rrs.fxp and rrs.ctl, run by DuckDB on the " +
				"lake's Parquet files. The role comes from the caller's staff certificate, never from the request: columns above the " +
				"role's clearance, and personal information unless the role may see it, are masked (masked lists them); tenant " +
				"restricts every table to one institution's rows; as_of answers from the lake as it was then; max_rows caps the rows " +
				"returned (default 10000, never more than 100000; truncated says more matched). Every statement is " +
				"written to the query log with the caller's name before it runs, refused ones too (403); one that cannot be logged does not run.",
			request:   &body{contentType: "application/json", typ: lk.Query},
			responses: []response{{status: 200, description: "the result", contentType: "application/json", typ: lk.Result}},
			problems:  []int{400, 403, 413},
			raw:       h,
		},
		{
			method: "GET", path: "/v1/lake/query-log", id: "lakeQueryLog", tag: "lake", staff: true,
			summary:     "The query log (staff with the admin role only)",
			description: "Every governed query, run or refused, with who ran it, in which role, over which tenant, the statement and the decision, by ID.",
			params: []param{
				{name: "after", in: "query", description: "cursor: entries with a greater ID", schema: integerSchema},
				{name: "limit", in: "query", description: "at most this many, 1..1000 (default 100)", schema: map[string]any{"type": "integer", "minimum": 1, "maximum": 1000}},
			},
			responses: []response{{status: 200, description: "entries by ID", contentType: "application/json", typ: lk.Log}},
			problems:  []int{403},
			raw:       h,
		},
	}
}

type staffKey struct{}

// StaffFrom returns the staff member a request was authenticated as.
func StaffFrom(ctx context.Context) (pki.Staff, bool) {
	st, ok := ctx.Value(staffKey{}).(pki.Staff)
	return st, ok && st.Name != "" && st.Role != ""
}

// authenticateStaff admits a staff certificate issued by the platform CA,
// registered and not revoked: 401 without one, 403 for the certificate of an
// institution, an enterprise or a node (the tenant wall: banks get reports,
// never the lake).
func (s *Server) authenticateStaff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := s.staffOf(r)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		ctx := r.Context()
		if ri, ok := ctx.Value(requestKey).(*requestInfo); ok {
			ri.tenant = pki.StaffOwnerPrefix + st.Name // named in the access log
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, staffKey{}, st)))
	})
}

func (s *Server) staffOf(r *http.Request) (pki.Staff, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || len(r.TLS.VerifiedChains) == 0 {
		return pki.Staff{}, ronghe.Errorf(ronghe.EUNAUTHORIZED, "this endpoint needs a staff certificate issued by the platform CA")
	}
	cert := r.TLS.PeerCertificates[0]
	if pki.IsPartyCertificate(cert) {
		return pki.Staff{}, ronghe.Errorf(ronghe.EFORBIDDEN, "the lake is for the operator's staff; institutions and enterprises obtain reports")
	}
	st, err := pki.StaffOf(cert)
	if err != nil {
		return pki.Staff{}, err
	}
	// Registered, to this person, not revoked: as for every certificate.
	if _, err := s.partyOf(r, func(*x509.Certificate) (string, error) { return pki.StaffOwnerPrefix + st.Name, nil }); err != nil {
		return pki.Staff{}, err
	}
	return st, nil
}
