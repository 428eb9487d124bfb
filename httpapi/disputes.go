package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/pki"
	"github.com/ronghe/ronghe/policy"
)

// Disputes is what enterprises and institutions do about disputes (异议)
// (*policy.Disputes).
type Disputes interface {
	File(ctx context.Context, enterprise string, doc []byte) (*ronghe.Dispute, error)
	Answer(ctx context.Context, institution, id string, doc []byte) (*ronghe.Dispute, error)
	List(ctx context.Context, who policy.Party, status string, limit int) ([]*ronghe.Dispute, error)
	Find(ctx context.Context, who policy.Party, id string) (*ronghe.Dispute, error)
}

// DisputeList is a party's disputes, newest first.
type DisputeList struct {
	Disputes []*ronghe.Dispute `json:"disputes"`
}

// disputeRoutes declares the routes of disputes.
func (s *Server) disputeRoutes() []route {
	if s.cfg.Disputes == nil {
		return nil
	}
	idDoc := map[string]string{"id": "the dispute's ID"}
	return []route{
		{
			method: "POST", path: "/v1/disputes", id: "fileDispute", tag: "disputes", auth: true, enterprise: true,
			summary: "Dispute reported data (异议)",
			description: "The enterprise's signed dispute (evidence document of type " + policy.TypeDispute + ": institution, a month or a " +
				"from–to range of business dates, record class TXN, BAL or ACCT, optionally a currency, and a reason). It is registered, logged, " +
				"and delivered to the institution's mailbox with a deadline of 20 calendar days; until it is resolved, flow reports mark the " +
				"months and currencies it affects. Filing the same document again returns it (and delivers it if that had failed: 503).",
			request:   &body{contentType: "application/json", typ: typeOf[evidence.Signed]()},
			responses: []response{jsonResponse[ronghe.Dispute](200, "the registered dispute")},
			problems:  []int{400, 403, 422, 503},
			handle:    s.fileDispute,
		},
		{
			method: "GET", path: "/v1/disputes", id: "listDisputes", tag: "disputes", auth: true, anyParty: true,
			summary: "Disputes: an enterprise's own, or those addressed to an institution",
			description: "With an enterprise's certificate, the disputes it filed; with an institution's, the disputes about data it reported. " +
				"Resolved disputes carry the resolution: the correction batch, or the institution's signed answer.",
			params: []param{
				{name: "status", in: "query", description: "open, resolved or overdue (open past the deadline); all when absent", schema: map[string]any{"type": "string", "enum": []string{"open", "resolved", "overdue"}}},
				{name: "limit", in: "query", description: "at most this many (default 100, at most 1000)", schema: integerSchema},
			},
			responses: []response{jsonResponse[DisputeList](200, "newest first")},
			problems:  []int{400},
			handle:    s.listDisputes,
		},
		{
			method: "GET", path: "/v1/disputes/{id}", id: "getDispute", tag: "disputes", auth: true, anyParty: true,
			summary:   "One dispute, to its enterprise or its institution",
			pathDocs:  idDoc,
			responses: []response{jsonResponse[ronghe.Dispute](200, "the dispute")},
			problems:  []int{404},
			handle:    s.getDispute,
		},
		{
			method: "POST", path: "/v1/disputes/{id}/answer", id: "answerDispute", tag: "disputes", auth: true,
			summary: "Answer a dispute",
			description: "The institution's signed answer (evidence document of type " + policy.TypeDisputeAnswer + ": dispute_id, outcome " +
				"confirmed or corrected, text). It resolves the dispute, is logged, and the enterprise reads it with the dispute. A correction " +
				"batch for a disputed date resolves the dispute without an answer.",
			pathDocs:  idDoc,
			request:   &body{contentType: "application/json", typ: typeOf[evidence.Signed]()},
			responses: []response{jsonResponse[ronghe.Dispute](200, "the resolved dispute")},
			problems:  []int{400, 403, 404, 409, 422},
			handle:    s.answerDispute,
		},
	}
}

// partyKindKey marks in the request context that the authenticated tenant
// is an enterprise (for routes any party may call).
type partyKindKey struct{}

// authenticateParty admits an enterprise's or an institution's client
// certificate: one naming an enterprise is checked as authenticateEnterprise
// does, any other as authenticate does.
func (s *Server) authenticateParty(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			if _, err := pki.EnterpriseOf(r.TLS.PeerCertificates[0]); err == nil {
				uscc, err := s.partyOf(r, pki.EnterpriseOf)
				if err != nil {
					writeError(w, r, s.log, err)
					return
				}
				ctx := context.WithValue(withTenant(r.Context(), uscc), partyKindKey{}, true)
				next.ServeHTTP(w, r.WithContext(ctx))
				return
			}
		}
		s.authenticate(next).ServeHTTP(w, r)
	})
}

// partyFrom returns the authenticated party of a request.
func partyFrom(ctx context.Context) (policy.Party, error) {
	t, err := tenantFrom(ctx)
	if err != nil {
		return policy.Party{}, err
	}
	if ent, _ := ctx.Value(partyKindKey{}).(bool); ent {
		return policy.Party{Enterprise: t}, nil
	}
	return policy.Party{Institution: t}, nil
}

func (s *Server) fileDispute(w http.ResponseWriter, r *http.Request) error {
	uscc, err := tenantFrom(r.Context())
	if err != nil {
		return err
	}
	raw, err := readBody(w, r)
	if err != nil {
		return err
	}
	d, err := s.cfg.Disputes.File(r.Context(), uscc, raw)
	if err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, d)
}

func (s *Server) listDisputes(w http.ResponseWriter, r *http.Request) error {
	who, err := partyFrom(r.Context())
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
	list, err := s.cfg.Disputes.List(r.Context(), who, r.URL.Query().Get("status"), limit)
	if err != nil {
		return err
	}
	if list == nil {
		list = []*ronghe.Dispute{}
	}
	return writeJSON(w, r, http.StatusOK, DisputeList{Disputes: list})
}

func (s *Server) getDispute(w http.ResponseWriter, r *http.Request) error {
	who, err := partyFrom(r.Context())
	if err != nil {
		return err
	}
	d, err := s.cfg.Disputes.Find(r.Context(), who, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, d)
}

func (s *Server) answerDispute(w http.ResponseWriter, r *http.Request) error {
	inst, err := tenantFrom(r.Context())
	if err != nil {
		return err
	}
	raw, err := readBody(w, r)
	if err != nil {
		return err
	}
	d, err := s.cfg.Disputes.Answer(r.Context(), inst, r.PathValue("id"), raw)
	if err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, d)
}
