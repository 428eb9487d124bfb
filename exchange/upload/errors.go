package upload

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/ronghe/ronghe"
)

// Errors tusd sends to clients for conditions of this store.
var (
	// ErrDeferredLength refuses uploads created without Upload-Length: the
	// size must be declared (and checked against the manifest) up front.
	ErrDeferredLength = handler.NewError("ERR_UPLOAD_LENGTH_REQUIRED",
		"the upload's length must be declared at creation (Upload-Length); deferred length is not supported", http.StatusBadRequest)
	// ErrConcatenation refuses the tus concatenation extension.
	ErrConcatenation = handler.NewError("ERR_CONCATENATION_UNSUPPORTED",
		"upload concatenation is not supported", http.StatusBadRequest)
	// ErrPatchTooSmall is returned for a PATCH that delivered data but not
	// enough to seal one whole chunk (and did not reach the end of the
	// upload): its data was discarded and the offset did not move. Without
	// this error a client sending PATCH bodies smaller than the chunk size
	// would repeat the same request for ever.
	ErrPatchTooSmall = handler.NewError("ERR_PATCH_TOO_SMALL",
		"a PATCH must carry at least one whole chunk (see the Upload-Offset of a HEAD request and the store's chunk size) unless it completes the upload; nothing was stored", http.StatusBadRequest)
	// ErrIncomplete refuses to read back an upload that is not complete.
	ErrIncomplete = handler.NewError("ERR_UPLOAD_INCOMPLETE",
		"the upload is not complete", http.StatusConflict)
)

// statusOf maps a ronghe error code to the HTTP status of its meaning.
var statusOf = map[string]int{
	ronghe.ECONFLICT:     http.StatusConflict,
	ronghe.EINTERNAL:     http.StatusInternalServerError,
	ronghe.EINVALID:      http.StatusBadRequest,
	ronghe.ENOTFOUND:     http.StatusNotFound,
	ronghe.EUNAUTHORIZED: http.StatusUnauthorized,
	ronghe.EFORBIDDEN:    http.StatusForbidden,
	ronghe.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	ronghe.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	ronghe.EINTEGRITY:    http.StatusInternalServerError, // our stored data, not the caller's fault
	ronghe.ERATELIMIT:    http.StatusTooManyRequests,
	ronghe.EUNAVAILABLE:  http.StatusServiceUnavailable,
	ronghe.EEXPIRED:      http.StatusForbidden,
}

// tusError converts an error for tusd, which sends the message of any
// non-handler.Error to the client verbatim. handler.Error values pass
// through; a ronghe.Error becomes a handler.Error with its caller-safe
// message; anything else is logged and reported as a bare internal error.
func (s *Store) tusError(ctx context.Context, op, id string, err error) error {
	if err == nil {
		return nil
	}
	var he handler.Error
	if errors.As(err, &he) {
		return err
	}
	code := ronghe.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status >= 500 || code == ronghe.EINTERNAL {
		s.log.ErrorContext(ctx, "upload: "+op+" failed", "id", id, "err", err)
	} else {
		s.log.InfoContext(ctx, "upload: "+op+" refused", "id", id, "err", err)
	}
	msg := ronghe.ErrorMessage(err)
	if code == ronghe.EINTERNAL || code == ronghe.EINTEGRITY {
		msg = "internal error"
	}
	return handler.NewError("ERR_"+strings.ToUpper(code), msg, status)
}
