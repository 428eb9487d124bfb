package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/report"
)

// Reports answers flow report requests (*report.Service).
type Reports interface {
	FlowReport(ctx context.Context, inst string, req report.Request) (*evidence.Signed, *report.Report, error)
}

// Policy is what enterprises do about their authorizations (*policy.Service).
type Policy interface {
	Register(ctx context.Context, enterprise string, doc []byte) (*ronghe.Authorization, error)
	Revoke(ctx context.Context, enterprise string, doc []byte) (*ronghe.Authorization, error)
	Authorizations(ctx context.Context, enterprise string) ([]*ronghe.Authorization, error)
	QueryRecords(ctx context.Context, enterprise string, limit int) ([]*ronghe.QueryRecord, error)
}

// AuthorizationList is an enterprise's authorizations, newest first.
type AuthorizationList struct {
	Authorizations []*ronghe.Authorization `json:"authorizations"`
}

// QueryRecordList is the queries made about an enterprise, newest first.
type QueryRecordList struct {
	Records []*ronghe.QueryRecord `json:"records"`
}

// reportRoutes declares the routes of reports and enterprises.
func (s *Server) reportRoutes() []route {
	var rs []route
	if s.cfg.Reports != nil {
		rs = append(rs, route{
			method: "POST", path: "/v1/reports/flow", id: "flowReport", tag: "reports", auth: true,
			summary: "An enterprise's flow report (企业收支流水报告)",
			description: "The RRS-1 §5 report of an enterprise across every reporting institution, for 1–24 months, signed by the platform. " +
				"Needs an authorization the enterprise registered for this institution, purpose and scope; without one the request is refused " +
				"(403, the same answer whatever the reason) and recorded where the enterprise sees it. With ?format=html the same report as a " +
				"readable page with charts. Rate-limited per institution (429).",
			params:  []param{{name: "format", in: "query", description: "json (default) or html", schema: map[string]any{"type": "string", "enum": []string{"json", "html"}}}},
			request: &body{contentType: "application/json", typ: typeOf[report.Request]()},
			responses: []response{
				{status: 200, description: "the signed report (evidence document of type " + report.TypeFlowReport + "), or the HTML page", contentType: "application/json", typ: typeOf[evidence.Signed]()},
			},
			problems: []int{400, 403, 429},
			handle:   s.flowReport,
		})
	}
	if s.cfg.Policy != nil {
		rs = append(rs,
			route{
				method: "POST", path: "/v1/authorizations", id: "registerAuthorization", tag: "enterprises", auth: true, enterprise: true,
				summary:     "Register an authorization (授权前置)",
				description: "The enterprise's signed authorization (evidence document of type ronghe.authorization/v1: grantee, purpose, scope, validity ≤ 12 months). It is verified, registered and logged; registering the same document again returns it.",
				request:     &body{contentType: "application/json", typ: typeOf[evidence.Signed]()},
				responses:   []response{jsonResponse[ronghe.Authorization](200, "the registered authorization")},
				problems:    []int{400, 403, 422},
				handle:      s.registerAuthorization,
			},
			route{
				method: "POST", path: "/v1/authorizations/revoke", id: "revokeAuthorization", tag: "enterprises", auth: true, enterprise: true,
				summary:     "Revoke an authorization",
				description: "The enterprise's signed revocation (evidence document of type ronghe.revocation/v1 naming the authorization). From then on the authorization authorizes nothing.",
				request:     &body{contentType: "application/json", typ: typeOf[evidence.Signed]()},
				responses:   []response{jsonResponse[ronghe.Authorization](200, "the revoked authorization")},
				problems:    []int{400, 404, 422},
				handle:      s.revokeAuthorization,
			},
			route{
				method: "GET", path: "/v1/authorizations", id: "listAuthorizations", tag: "enterprises", auth: true, enterprise: true,
				summary:   "The enterprise's own authorizations",
				responses: []response{jsonResponse[AuthorizationList](200, "newest first")},
				handle:    s.listAuthorizations,
			},
			route{
				method: "GET", path: "/v1/query-records", id: "listQueryRecords", tag: "enterprises", auth: true, enterprise: true,
				summary:     "Every query made about the enterprise",
				description: "Who asked, when, for what purpose, under which authorization, and whether it was granted; each record is also in the transparency log.",
				params:      []param{{name: "limit", in: "query", description: "at most this many (default 100, at most 1000)", schema: integerSchema}},
				responses:   []response{jsonResponse[QueryRecordList](200, "newest first")},
				handle:      s.listQueryRecords,
			},
		)
	}
	return rs
}

func (s *Server) flowReport(w http.ResponseWriter, r *http.Request) error {
	inst, err := tenantFrom(r.Context())
	if err != nil {
		return err
	}
	raw, err := readBody(w, r)
	if err != nil {
		return err
	}
	var req report.Request
	if err := decodeStrict(raw, &req); err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "html" {
		return ronghe.Errorf(ronghe.EINVALID, "format must be json or html")
	}
	signed, rep, err := s.cfg.Reports.FlowReport(r.Context(), inst, req)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	if format == "html" {
		page, err := rep.HTML()
		if err != nil {
			return err
		}
		return writeRaw(w, r, http.StatusOK, "text/html; charset=utf-8", page)
	}
	return writeRaw(w, r, http.StatusOK, "application/json", signed.Marshal())
}

func (s *Server) registerAuthorization(w http.ResponseWriter, r *http.Request) error {
	return s.enterpriseDoc(w, r, s.cfg.Policy.Register)
}

func (s *Server) revokeAuthorization(w http.ResponseWriter, r *http.Request) error {
	return s.enterpriseDoc(w, r, s.cfg.Policy.Revoke)
}

func (s *Server) enterpriseDoc(w http.ResponseWriter, r *http.Request, do func(context.Context, string, []byte) (*ronghe.Authorization, error)) error {
	uscc, err := tenantFrom(r.Context())
	if err != nil {
		return err
	}
	raw, err := readBody(w, r)
	if err != nil {
		return err
	}
	a, err := do(r.Context(), uscc, raw)
	if err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, a)
}

func (s *Server) listAuthorizations(w http.ResponseWriter, r *http.Request) error {
	uscc, err := tenantFrom(r.Context())
	if err != nil {
		return err
	}
	list, err := s.cfg.Policy.Authorizations(r.Context(), uscc)
	if err != nil {
		return err
	}
	if list == nil {
		list = []*ronghe.Authorization{}
	}
	return writeJSON(w, r, http.StatusOK, AuthorizationList{Authorizations: list})
}

func (s *Server) listQueryRecords(w http.ResponseWriter, r *http.Request) error {
	uscc, err := tenantFrom(r.Context())
	if err != nil {
		return err
	}
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return ronghe.Errorf(ronghe.EINVALID, "limit must be a non-negative integer")
		}
		limit = n
	}
	list, err := s.cfg.Policy.QueryRecords(r.Context(), uscc, limit)
	if err != nil {
		return err
	}
	if list == nil {
		list = []*ronghe.QueryRecord{}
	}
	return writeJSON(w, r, http.StatusOK, QueryRecordList{Records: list})
}
