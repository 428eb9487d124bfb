package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/ronghe/ronghe"
)

// ProblemTypeBase prefixes the error code to form a problem's type URI.
const ProblemTypeBase = "https://ronghe.dev/problems/"

// ProblemContentType is the media type of every error response (RFC 9457).
const ProblemContentType = "application/problem+json"

// Problem is an RFC 9457 problem document, the body of every error response.
type Problem struct {
	// Type is ProblemTypeBase followed by Code.
	Type string `json:"type" doc:"URI identifying the problem type: https://ronghe.dev/problems/<code>"`
	// Title is a short, fixed summary of the problem type.
	Title string `json:"title" doc:"short summary of the problem type"`
	// Status repeats the HTTP status code.
	Status int `json:"status" doc:"the HTTP status code"`
	// Detail explains this occurrence; it never carries internal details.
	Detail string `json:"detail,omitempty" doc:"explanation of this occurrence, written for the caller"`
	// Code is the machine-readable ronghe error code.
	Code string `json:"code" doc:"machine-readable error code" enum:"invalid,unauthorized,forbidden,expired,not_found,conflict,too_large,unsupported,integrity,rate_limited,internal,unavailable"`
	// RequestID is the request's X-Request-Id, to quote when asking for help.
	RequestID string `json:"request_id,omitempty" doc:"the request's X-Request-Id, to quote to the operator"`
}

// problemInfo is the HTTP status and title of one error code.
type problemInfo struct {
	status int
	title  string
}

var problems = map[string]problemInfo{
	ronghe.EINVALID:      {http.StatusBadRequest, "Invalid request"},
	ronghe.EUNAUTHORIZED: {http.StatusUnauthorized, "Not authenticated"},
	ronghe.EFORBIDDEN:    {http.StatusForbidden, "Forbidden"},
	ronghe.EEXPIRED:      {http.StatusForbidden, "Expired or revoked"},
	ronghe.ENOTFOUND:     {http.StatusNotFound, "Not found"},
	ronghe.ECONFLICT:     {http.StatusConflict, "Conflict"},
	ronghe.ETOOLARGE:     {http.StatusRequestEntityTooLarge, "Too large"},
	ronghe.EUNSUPPORTED:  {http.StatusUnsupportedMediaType, "Unsupported"},
	ronghe.EINTEGRITY:    {http.StatusUnprocessableEntity, "Integrity check failed"},
	ronghe.ERATELIMIT:    {http.StatusTooManyRequests, "Rate limited"},
	ronghe.EINTERNAL:     {http.StatusInternalServerError, "Internal error"},
	ronghe.EUNAVAILABLE:  {http.StatusServiceUnavailable, "Temporarily unavailable"},
}

// HTTPStatus returns the HTTP status of a ronghe error code; unknown codes are
// internal errors (500).
func HTTPStatus(code string) int {
	if p, ok := problems[code]; ok {
		return p.status
	}
	return http.StatusInternalServerError
}

// codeForStatus is the inverse of HTTPStatus for statuses produced outside
// this package (tusd, the mux); 403 maps to EFORBIDDEN.
func codeForStatus(status int) string {
	switch status {
	case http.StatusMethodNotAllowed:
		return ronghe.EINVALID
	case http.StatusPreconditionFailed, http.StatusRequestedRangeNotSatisfiable, http.StatusLengthRequired:
		return ronghe.EINVALID
	case http.StatusGone:
		return ronghe.ENOTFOUND
	case http.StatusRequestTimeout, http.StatusGatewayTimeout, http.StatusBadGateway:
		return ronghe.EUNAVAILABLE
	case http.StatusNotImplemented:
		return ronghe.EUNSUPPORTED
	}
	best := ""
	for code, p := range problems {
		if p.status == status && (best == "" || code == ronghe.EFORBIDDEN) {
			best = code
		}
	}
	if best != "" {
		return best
	}
	if status >= 500 {
		return ronghe.EINTERNAL
	}
	return ronghe.EINVALID
}

// NewProblem returns the problem document for err. The detail is the error's
// caller-safe message (ronghe.ErrorMessage), so foreign errors read "internal
// error".
func NewProblem(err error) *Problem {
	code := ronghe.ErrorCode(err)
	if code == "" {
		code = ronghe.EINTERNAL
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return problemFor(ronghe.ETOOLARGE, 0, "request body larger than "+strconv.FormatInt(tooBig.Limit, 10)+" bytes")
	}
	return problemFor(code, 0, ronghe.ErrorMessage(err))
}

// problemFor builds a problem for code; status 0 means the code's own.
func problemFor(code string, status int, detail string) *Problem {
	p, ok := problems[code]
	if !ok {
		p = problems[ronghe.EINTERNAL]
		code = ronghe.EINTERNAL
	}
	if status == 0 {
		status = p.status
	}
	return &Problem{Type: ProblemTypeBase + code, Title: p.title, Status: status, Detail: detail, Code: code}
}

// writeProblem writes p as the response. A HEAD response gets the headers only.
func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	if p.RequestID == "" {
		p.RequestID = w.Header().Get(RequestIDHeader)
	}
	body, _ := json.Marshal(p) // strings and ints cannot fail
	h := w.Header()
	h.Set("Content-Type", ProblemContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// writeError logs err when it is the platform's fault and writes its problem.
func writeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	p := NewProblem(err)
	if p.Status >= 500 {
		logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path,
			"request_id", w.Header().Get(RequestIDHeader), "code", p.Code, "error", err)
	}
	writeProblem(w, r, p)
}
