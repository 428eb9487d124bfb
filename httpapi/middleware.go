package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/ronghe/ronghe"
)

// RequestIDHeader carries the request ID in both directions: a client may
// send one (up to 64 characters of [A-Za-z0-9._-]); otherwise the server
// assigns one. It is echoed in the response, in problems and in logs.
const RequestIDHeader = "X-Request-Id"

type ctxKey int

const (
	tenantKey ctxKey = iota
	requestKey
)

// requestInfo is per-request state shared between the outer middleware and
// the handlers: the authentication step records the tenant here so that the
// access log, written after the handler returns, can name it.
type requestInfo struct {
	id     string
	tenant string
}

// Tenant returns the institution code authenticated for the request, if any.
func Tenant(ctx context.Context) (string, bool) {
	t, ok := ctx.Value(tenantKey).(string)
	return t, ok && t != ""
}

// RequestID returns the ID of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	if ri, ok := ctx.Value(requestKey).(*requestInfo); ok {
		return ri.id
	}
	return ""
}

func withTenant(ctx context.Context, tenant string) context.Context {
	if ri, ok := ctx.Value(requestKey).(*requestInfo); ok {
		ri.tenant = tenant
	}
	return context.WithValue(ctx, tenantKey, tenant)
}

func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// statusWriter records the status and byte count of a response. Unwrap lets
// http.ResponseController (which tusd uses for deadlines) reach the
// connection's writer.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe assigns the request ID, recovers panics into a 500 problem and
// writes one access-log line per request.
func observe(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		ri := &requestInfo{id: id}
		r = r.WithContext(context.WithValue(r.Context(), requestKey, ri))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				logger.ErrorContext(r.Context(), "panic serving request", "method", r.Method, "path", r.URL.Path,
					"request_id", id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if sw.status == 0 {
					writeProblem(sw, r, problemFor(ronghe.EINTERNAL, 0, "internal error"))
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			logger.Log(r.Context(), level, "http request", "method", r.Method, "path", r.URL.Path, "status", status,
				"bytes", sw.bytes, "duration", time.Since(start), "tenant", ri.tenant, "request_id", id)
		}()
		next.ServeHTTP(sw, r)
	})
}

// problemMux turns the mux's own 404 and 405 answers into problems, keeping
// the Allow header of a 405.
func problemMux(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		rec := &headerRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if rec.status == 0 || rec.status < 400 {
			// Anything that is not an error (the mux only produces errors
			// here, but stay faithful): let the mux answer for real.
			mux.ServeHTTP(w, r)
			return
		}
		if allow := rec.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		detail := "no such resource: " + r.URL.Path
		if rec.status == http.StatusMethodNotAllowed {
			detail = "method " + r.Method + " is not allowed on " + r.URL.Path
		}
		writeProblem(w, r, problemFor(codeForStatus(rec.status), rec.status, detail))
	})
}

// headerRecorder captures the status and headers of a handler's response and
// discards its body.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header { return h.header }
func (h *headerRecorder) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}
func (h *headerRecorder) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return len(b), nil
}
