// Package lakeapi serves the lake's data catalog and governed SQL over HTTP
// to the operator's staff:
//
//	GET  /v1/lake/catalog            the data catalog (ronghe.LakeTable per table)
//	POST /v1/lake/sql                one governed query (ronghe.LakeQuery → ronghe.LakeResult)
//	GET  /v1/lake/query-log?after=N&limit=M  the query log (ronghe.LakeLogEntry; admin role only)
//
// Who is asking, and in which role, comes from a Staff authenticator the
// server supplies (staff certificates, an SSO header behind the operator's
// proxy); a role in the request body is never believed. Errors are RFC 9457
// problem documents with the platform's codes, as the rest of the API
// answers. Banks are never given this handler.
package lakeapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/lake"
	"github.com/ronghe/ronghe/lake/lakesql"
)

// Principal is an authenticated member of the operator's staff.
type Principal struct {
	// User is the person's name, recorded in the query log.
	User string
	// Role is a lakesql role name: analyst, supervisor or admin.
	Role string
}

// Staff authenticates a request. It returns an EUNAUTHORIZED error when
// the request carries no staff identity.
type Staff interface {
	Staff(r *http.Request) (Principal, error)
}

// StaffFunc adapts a function to Staff.
type StaffFunc func(r *http.Request) (Principal, error)

// Staff calls f.
func (f StaffFunc) Staff(r *http.Request) (Principal, error) { return f(r) }

// maxBody bounds a query request.
const maxBody = 1 << 20

// MaxRows caps the rows one query returns over the API, whatever the
// request's max_rows: a larger answer is truncated (LakeResult.Truncated).
const MaxRows = 100000

// maxRows is MaxRows, lowered by tests.
var maxRows = MaxRows

// Handler returns the lake API.
func Handler(l *lake.Lake, eng *lakesql.Engine, auth Staff, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	h := &handler{lake: l, eng: eng, auth: auth, log: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/lake/catalog", h.catalog)
	mux.HandleFunc("POST /v1/lake/sql", h.sql)
	mux.HandleFunc("GET /v1/lake/query-log", h.queryLog)
	return mux
}

type handler struct {
	lake *lake.Lake
	eng  *lakesql.Engine
	auth Staff
	log  *slog.Logger
}

func (h *handler) principal(w http.ResponseWriter, r *http.Request) (Principal, bool) {
	p, err := h.auth.Staff(r)
	if err == nil && (p.User == "" || p.Role == "") {
		err = ronghe.Errorf(ronghe.EUNAUTHORIZED, "no staff identity")
	}
	if err == nil {
		if _, err = lakesql.RoleByName(p.Role); err != nil {
			err = ronghe.Errorf(ronghe.EFORBIDDEN, "role %q may not query the lake", p.Role)
		}
	}
	if err != nil {
		h.fail(w, r, err)
		return Principal{}, false
	}
	return p, true
}

func (h *handler) catalog(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.principal(w, r); !ok {
		return
	}
	infos, err := h.lake.Catalog(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, infos)
}

func (h *handler) sql(w http.ResponseWriter, r *http.Request) {
	p, ok := h.principal(w, r)
	if !ok {
		return
	}
	var q ronghe.LakeQuery
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		h.fail(w, r, ronghe.WrapError(ronghe.EINVALID, err, "malformed query request: "+err.Error()))
		return
	}
	req := lakesql.Request{User: p.User, Role: p.Role, Tenant: q.Tenant, SQL: q.SQL, MaxRows: min(q.MaxRows, maxRows)}
	if q.AsOf != nil {
		req.AsOf = *q.AsOf
	}
	res, err := h.eng.Query(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *handler) queryLog(w http.ResponseWriter, r *http.Request) {
	p, ok := h.principal(w, r)
	if !ok {
		return
	}
	if p.Role != lakesql.Admin.Name {
		h.fail(w, r, ronghe.Errorf(ronghe.EFORBIDDEN, "the query log is for the admin role"))
		return
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 {
		limit = 100
	}
	entries, err := h.eng.QueryLog().List(r.Context(), after, min(limit, 1000))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if entries == nil {
		entries = []lakesql.Entry{}
	}
	writeJSON(w, http.StatusOK, entries)
}

// problem is an RFC 9457 problem document in the platform's shape.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Code   string `json:"code"`
	// RequestID echoes the X-Request-Id the server in front set on the
	// response, as the rest of the API's problems carry it.
	RequestID string `json:"request_id,omitempty"`
}

var statuses = map[string]int{
	ronghe.EINVALID:      http.StatusBadRequest,
	ronghe.EUNAUTHORIZED: http.StatusUnauthorized,
	ronghe.EFORBIDDEN:    http.StatusForbidden,
	ronghe.EEXPIRED:      http.StatusForbidden,
	ronghe.ENOTFOUND:     http.StatusNotFound,
	ronghe.ECONFLICT:     http.StatusConflict,
	ronghe.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	ronghe.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	ronghe.EINTEGRITY:    http.StatusUnprocessableEntity,
	ronghe.ERATELIMIT:    http.StatusTooManyRequests,
	ronghe.EUNAVAILABLE:  http.StatusServiceUnavailable,
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := ronghe.ErrorCode(err)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		code = ronghe.ETOOLARGE
	}
	status, ok := statuses[code]
	if !ok {
		code, status = ronghe.EINTERNAL, http.StatusInternalServerError
	}
	if status >= 500 {
		h.log.ErrorContext(r.Context(), "lake API", "path", r.URL.Path, "err", err)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(problem{Type: "https://ronghe.dev/problems/" + code, Title: http.StatusText(status),
		Status: status, Detail: ronghe.ErrorMessage(err), Code: code, RequestID: w.Header().Get("X-Request-Id")})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}
