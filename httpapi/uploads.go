package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	expslog "golang.org/x/exp/slog"

	"github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/exchange/upload"
)

// SubmissionStatusHeader is set on the response to the request that finished
// an upload: "accepted" when that file was the last one and the submission
// is now accepted (fetch the receipt with complete), "uploading" otherwise.
const SubmissionStatusHeader = "Ronghe-Submission-Status"

// storeComposer is implemented by stores that register themselves with a
// tusd composer, such as *upload.Store, which also hands over the Locker its
// own Promote and Terminate take.
type storeComposer interface {
	UseIn(*handler.StoreComposer)
}

// newTus builds the tus handler over the configured store. The store is
// wrapped so that ronghe errors it returns become problem responses. Only the
// core, termination and locking are taken from the store: concatenation and
// deferred length are never offered, since every upload must have exactly
// the size its manifest declares.
func (s *Server) newTus() error {
	offered := handler.NewStoreComposer()
	if c, ok := s.cfg.Uploads.(storeComposer); ok {
		c.UseIn(offered)
	} else {
		offered.UseCore(s.cfg.Uploads)
		if t, ok := s.cfg.Uploads.(handler.TerminaterDataStore); ok {
			offered.UseTerminater(t)
		}
		if l, ok := s.cfg.Uploads.(handler.Locker); ok {
			offered.UseLocker(l)
		}
	}
	if offered.Core == nil {
		return errors.New("the upload store registered no core data store")
	}
	composer := handler.NewStoreComposer()
	composer.UseCore(&tusStore{inner: offered.Core, s: s})
	if offered.UsesTerminater {
		composer.UseTerminater(&tusTerminater{inner: offered.Terminater, s: s})
		s.terminate = true
	}
	if offered.UsesLocker {
		composer.UseLocker(offered.Locker)
	} else {
		memorylocker.New().UseIn(composer)
	}
	h, err := handler.NewUnroutedHandler(handler.Config{
		StoreComposer:             composer,
		BasePath:                  UploadsPath,
		MaxSize:                   s.cfg.MaxUploadBytes,
		DisableDownload:           true,
		DisableTermination:        !s.terminate,
		DisableConcatenation:      true,
		Cors:                      &handler.CorsConfig{Disable: true},
		Logger:                    expslog.New(slogBridge{h: s.log.Handler()}),
		PreUploadCreateCallback:   s.preUploadCreate,
		PreFinishResponseCallback: s.preFinishResponse,
	})
	if err != nil {
		return err
	}
	s.tus = h
	return nil
}

// tusRoutes are the tus 1.0 endpoints (core protocol with the creation,
// creation-with-upload and, when the store supports it, termination
// extensions).
func (s *Server) tusRoutes() []route {
	tus := s.tusEndpoint
	resumable := param{name: "Tus-Resumable", in: "header", required: true, description: "tus protocol version", schema: map[string]any{"type": "string", "enum": []any{"1.0.0"}}}
	idDoc := map[string]string{"id": "the upload ID from the Location of the creation response"}
	rs := []route{
		{
			method: "OPTIONS", path: UploadsPath, id: "tusOptions", tag: "uploads",
			summary:     "tus capability discovery",
			description: "Answers with Tus-Version, Tus-Extension and Tus-Max-Size.",
			responses: []response{{status: 200, description: "capabilities", headers: map[string]string{
				"Tus-Version": "supported protocol versions (1.0.0)", "Tus-Extension": "supported extensions", "Tus-Max-Size": "largest upload accepted, when limited",
			}}},
			raw: tus(func(http.ResponseWriter, *http.Request) {}), // the tus middleware answers OPTIONS itself
		},
		{
			method: "POST", path: UploadsPath, id: "tusCreate", tag: "uploads", auth: true,
			summary: "Create an upload for one file of a submission (tus creation)",
			description: "Upload-Metadata must carry " + MetaMessageID + " (the submission's message ID) and " + MetaFile +
				" (the file's name in the manifest), and Upload-Length must equal the file's size in the manifest. The body may carry the first chunk (creation-with-upload, Content-Type application/offset+octet-stream).",
			params: []param{
				resumable,
				{name: "Upload-Length", in: "header", required: true, description: "the file's exact size in bytes, as in the manifest", schema: integerSchema},
				{name: "Upload-Metadata", in: "header", required: true, description: "comma-separated key and base64 value pairs; must include " + MetaMessageID + " and " + MetaFile, schema: stringSchema},
			},
			request: &body{contentType: "application/offset+octet-stream", description: "optional first chunk"},
			responses: []response{{status: 201, description: "created", headers: map[string]string{
				"Location": "URL of the new upload", "Upload-Offset": "bytes received so far (with creation-with-upload)",
			}}},
			problems: []int{400, 404, 409, 412, 413, 422},
			raw:      tus(s.tus.PostFile),
		},
		{
			method: "HEAD", path: UploadsPath + "{id}", id: "tusOffset", tag: "uploads", auth: true,
			summary: "Current offset of an upload (tus core)", pathDocs: idDoc,
			params: []param{resumable},
			responses: []response{{status: 200, description: "the upload's state", headers: map[string]string{
				"Upload-Offset": "bytes received so far", "Upload-Length": "the upload's total size",
			}}},
			problems: []int{404},
			raw:      tus(s.tus.HeadFile),
		},
		{
			method: "PATCH", path: UploadsPath + "{id}", id: "tusAppend", tag: "uploads", auth: true,
			summary: "Append a chunk to an upload (tus core)",
			description: "When the chunk completes the file, its size and digest are checked against the signed manifest before the response is sent: a mismatch discards the upload and answers 422. " +
				SubmissionStatusHeader + " tells whether the submission is now accepted.",
			pathDocs: idDoc,
			params: []param{
				resumable,
				{name: "Upload-Offset", in: "header", required: true, description: "the offset this chunk starts at; must equal the server's", schema: integerSchema},
			},
			request: &body{contentType: "application/offset+octet-stream", description: "the chunk"},
			responses: []response{{status: 204, description: "chunk stored", headers: map[string]string{
				"Upload-Offset":        "bytes received so far",
				SubmissionStatusHeader: "when the upload completed: the submission's status",
			}}},
			problems: []int{400, 404, 409, 412, 413, 422},
			raw:      tus(s.tus.PatchFile),
		},
	}
	if s.terminate {
		rs = append(rs, route{
			method: "DELETE", path: UploadsPath + "{id}", id: "tusTerminate", tag: "uploads", auth: true,
			summary: "Abandon an unfinished upload (tus termination)", pathDocs: idDoc,
			params:    []param{resumable},
			responses: []response{{status: 204, description: "terminated"}},
			problems:  []int{404},
			raw:       tus(s.tus.DelFile),
		})
	}
	return rs
}

// preUploadCreate admits an upload only for a file of one of the tenant's
// submissions that has not arrived yet, with exactly the declared size, and
// records what the upload is for in its metadata.
func (s *Server) preUploadCreate(hook handler.HookEvent) (handler.HTTPResponse, handler.FileInfoChanges, error) {
	ctx := hook.Context
	changes, err := s.admitUpload(ctx, hook.Upload)
	if err != nil {
		return handler.HTTPResponse{}, handler.FileInfoChanges{}, s.tusError(ctx, err)
	}
	return handler.HTTPResponse{}, changes, nil
}

// admitUpload checks a new upload and returns the metadata it is stored
// with: the client's metadata is replaced entirely, so nothing but what the
// platform vouches for reaches the store.
func (s *Server) admitUpload(ctx context.Context, info handler.FileInfo) (handler.FileInfoChanges, error) {
	var none handler.FileInfoChanges
	tenant, err := tenantFrom(ctx)
	if err != nil {
		return none, err
	}
	if info.SizeIsDeferred {
		return none, ronghe.Errorf(ronghe.EINVALID, "Upload-Length is required: it must equal the file's size in the manifest")
	}
	if info.IsPartial || info.IsFinal {
		return none, ronghe.Errorf(ronghe.EINVALID, "upload concatenation is not supported")
	}
	messageID, file := info.MetaData[MetaMessageID], info.MetaData[MetaFile]
	if messageID == "" || file == "" {
		return none, ronghe.Errorf(ronghe.EINVALID, "Upload-Metadata must carry %s and %s", MetaMessageID, MetaFile)
	}
	sub, err := s.cfg.Exchange.Submission(ctx, tenant, messageID)
	if err != nil {
		return none, err
	}
	if sub.Status == ronghe.SubmissionAccepted {
		return none, ronghe.Errorf(ronghe.ECONFLICT, "message %s is already accepted; nothing more can be uploaded to it", messageID)
	}
	var f *ronghe.SubmissionFile
	for i := range sub.Files {
		if sub.Files[i].Name == file {
			f = &sub.Files[i]
		}
	}
	switch {
	case f == nil:
		return none, ronghe.Errorf(ronghe.ENOTFOUND, "file %q is not in the manifest of message %s", file, messageID)
	case f.Done:
		return none, ronghe.Errorf(ronghe.ECONFLICT, "file %s of message %s has already arrived", file, messageID)
	case info.Size > f.Size:
		return none, ronghe.Errorf(ronghe.ETOOLARGE, "Upload-Length %d is larger than the %d bytes the manifest declares for %s", info.Size, f.Size, file)
	case info.Size < f.Size:
		return none, ronghe.Errorf(ronghe.EINVALID, "Upload-Length %d is smaller than the %d bytes the manifest declares for %s", info.Size, f.Size, file)
	}
	inst, err := s.cfg.Institutions.FindInstitution(ctx, tenant)
	if err != nil {
		return none, err
	}
	// The platform names the upload and records it on the submission before
	// it exists, so a sender that loses track of it (either side crashing)
	// finds it in the submission's view and resumes it.
	id, err := newUploadID()
	if err != nil {
		return none, err
	}
	if err := s.cfg.Exchange.UploadStarted(ctx, tenant, messageID, file, id); err != nil {
		return none, err
	}
	return handler.FileInfoChanges{
		ID: id,
		// Replaces the client's metadata entirely.
		MetaData: handler.MetaData{
			upload.MetaTenant: tenant, upload.MetaSuite: string(inst.Suite),
			upload.MetaMessage: messageID, upload.MetaFile: file,
		},
		// Only this hook can set Storage; the store trusts it first.
		Storage: map[string]string{upload.MetaTenant: tenant, upload.MetaSuite: string(inst.Suite)},
	}, nil
}

// preFinishResponse notes that the request finished an upload. The upload is
// handed to the exchange only after tusd has released the upload's lock
// (see finishAfterUnlock): the exchange promotes or discards the upload,
// which takes that same lock.
func (s *Server) preFinishResponse(hook handler.HookEvent) (handler.HTTPResponse, error) {
	if n, ok := hook.Context.Value(finishKey).(*finishNote); ok {
		n.set(hook.Upload.ID)
	}
	return handler.HTTPResponse{}, nil
}

type finishKeyType struct{}

// finishKey carries the request's *finishNote.
var finishKey finishKeyType

// finishNote records, during one tus request, the upload that is complete
// and must be handed to the exchange once tusd is done with it: one this
// request finished, or — for a PATCH — one that was already complete (a
// client resuming after the server stopped between storing the last byte and
// checking the file).
type finishNote struct {
	mu    sync.Mutex
	patch bool
	id    string
}

func (n *finishNote) set(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.id = id
}

func (n *finishNote) get() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.id
}

// finishTimeout bounds the exchange's check of a finished file (digest
// compare, promotion, and for the last file the log append and receipt).
const finishTimeout = 2 * time.Minute

// tusEndpoint serves one tus operation. A successful response to a request
// that completed an upload is held back until tusd has returned (and so
// released the upload's lock); then the exchange checks the file against the
// manifest, and the response is either the held one, with
// SubmissionStatusHeader, or the exchange's problem (422 for a file that
// does not match).
func (s *Server) tusEndpoint(f http.HandlerFunc) http.Handler {
	inner := foreignProblems(s.log, s.tus.Middleware(f))
	return http.StripPrefix("/v1/uploads", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		note := &finishNote{patch: r.Method == http.MethodPatch}
		r = r.WithContext(context.WithValue(r.Context(), finishKey, note))
		hw := &holdWriter{ResponseWriter: w, note: note}
		inner.ServeHTTP(hw, r)
		if hw.held == 0 {
			return
		}
		s.finishAfterUnlock(w, r, note.get(), hw)
	}))
}

func (s *Server) finishAfterUnlock(w http.ResponseWriter, r *http.Request, id string, hw *holdWriter) {
	ctx := r.Context()
	tenant, err := tenantFrom(ctx)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	// tusd set a write deadline for the body; give the check its own.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(finishTimeout))
	sub, err := s.cfg.Exchange.FileUploaded(ctx, tenant, id)
	if err != nil {
		w.Header().Del("Upload-Offset")
		writeError(w, r, s.log, err)
		return
	}
	w.Header().Set(SubmissionStatusHeader, sub.Status)
	w.WriteHeader(hw.held)
	if hw.body.Len() > 0 && r.Method != http.MethodHead {
		_, _ = w.Write(hw.body.Bytes())
	}
}

// holdWriter holds back a successful response once the request's finishNote
// names an upload; anything else passes straight through.
type holdWriter struct {
	http.ResponseWriter
	note    *finishNote
	held    int
	written bool
	body    bytes.Buffer
}

func (h *holdWriter) WriteHeader(code int) {
	if h.written || h.held != 0 {
		return
	}
	if code >= 200 && code < 300 && h.note.get() != "" {
		h.held = code
		return
	}
	h.written = true
	h.ResponseWriter.WriteHeader(code)
}

func (h *holdWriter) Write(b []byte) (int, error) {
	if !h.written && h.held == 0 {
		h.WriteHeader(http.StatusOK)
	}
	if h.held != 0 {
		return h.body.Write(b)
	}
	return h.ResponseWriter.Write(b)
}

func (h *holdWriter) Flush() {
	if h.held != 0 {
		return
	}
	if f, ok := h.ResponseWriter.(http.Flusher); ok {
		if !h.written {
			h.WriteHeader(http.StatusOK)
		}
		f.Flush()
	}
}

func (h *holdWriter) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// tusError turns an error into a tusd error whose response is a problem.
// Errors tusd defined itself pass through (their responses are rewritten by
// foreignProblems); so do errors that are not ronghe errors, such as an
// interrupted request body, which tusd recognises.
func (s *Server) tusError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var te handler.Error
	if errors.As(err, &te) {
		return err
	}
	var re *ronghe.Error
	if !errors.As(err, &re) {
		return err
	}
	p := NewProblem(err)
	p.RequestID = RequestID(ctx)
	if p.Status >= 500 {
		s.log.ErrorContext(ctx, "upload failed", "code", p.Code, "request_id", p.RequestID, "error", err)
	}
	b, _ := json.Marshal(p)
	return handler.Error{
		ErrorCode: "ERR_" + strings.ToUpper(p.Code),
		Message:   p.Detail,
		HTTPResponse: handler.HTTPResponse{
			StatusCode: p.Status,
			Body:       string(b),
			Header:     handler.HTTPHeader{"Content-Type": ProblemContentType, "Cache-Control": "no-store"},
		},
	}
}

// tusStore wraps the configured data store so that the ronghe errors it
// returns reach the client as problems with the right status.
type tusStore struct {
	inner handler.DataStore
	s     *Server
}

func (t *tusStore) NewUpload(ctx context.Context, info handler.FileInfo) (handler.Upload, error) {
	u, err := t.inner.NewUpload(ctx, info)
	if err != nil {
		return nil, t.s.tusError(ctx, err)
	}
	return &tusUpload{inner: u, s: t.s}, nil
}

func (t *tusStore) GetUpload(ctx context.Context, id string) (handler.Upload, error) {
	u, err := t.inner.GetUpload(ctx, id)
	if err != nil {
		return nil, t.s.tusError(ctx, err)
	}
	return &tusUpload{inner: u, s: t.s}, nil
}

type tusUpload struct {
	inner handler.Upload
	s     *Server
}

func (u *tusUpload) WriteChunk(ctx context.Context, offset int64, src io.Reader) (int64, error) {
	n, err := u.inner.WriteChunk(ctx, offset, src)
	return n, u.s.tusError(ctx, err)
}

func (u *tusUpload) GetInfo(ctx context.Context) (handler.FileInfo, error) {
	info, err := u.inner.GetInfo(ctx)
	if err == nil && !info.SizeIsDeferred && info.Offset == info.Size {
		if n, ok := ctx.Value(finishKey).(*finishNote); ok && n.patch {
			n.set(info.ID)
		}
	}
	return info, u.s.tusError(ctx, err)
}

func (u *tusUpload) GetReader(ctx context.Context) (io.ReadCloser, error) {
	r, err := u.inner.GetReader(ctx)
	return r, u.s.tusError(ctx, err)
}

func (u *tusUpload) FinishUpload(ctx context.Context) error {
	return u.s.tusError(ctx, u.inner.FinishUpload(ctx))
}

type tusTerminater struct {
	inner handler.TerminaterDataStore
	s     *Server
}

func (t *tusTerminater) AsTerminatableUpload(u handler.Upload) handler.TerminatableUpload {
	if w, ok := u.(*tusUpload); ok {
		u = w.inner
	}
	return &tusTerminatable{inner: t.inner.AsTerminatableUpload(u), s: t.s}
}

type tusTerminatable struct {
	inner handler.TerminatableUpload
	s     *Server
}

func (t *tusTerminatable) Terminate(ctx context.Context) error {
	return t.s.tusError(ctx, t.inner.Terminate(ctx))
}

// foreignProblems rewrites the error responses of handlers this package does
// not write itself (tusd, the log tiles) into problems: tusd answers
// "ERR_CODE: message" in text/plain, the tiles handler plain text. A 5xx
// detail is logged and replaced by a generic one.
func foreignProblems(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pw := &problemWriter{ResponseWriter: w}
		next.ServeHTTP(pw, r)
		if pw.status == 0 {
			return
		}
		code := codeForStatus(pw.status)
		detail := strings.TrimSpace(pw.body.String())
		if errCode, msg, ok := strings.Cut(detail, ": "); ok && strings.HasPrefix(errCode, "ERR_") {
			detail = msg
			// Stores report ronghe errors as ERR_<CODE>; keep the code
			// when it agrees with the status (EEXPIRED vs EFORBIDDEN).
			if c := strings.ToLower(strings.TrimPrefix(errCode, "ERR_")); HTTPStatus(c) == pw.status {
				if _, known := problems[c]; known {
					code = c
				}
			}
		}
		if pw.status >= 500 {
			logger.ErrorContext(r.Context(), "upstream handler failed", "method", r.Method, "path", r.URL.Path,
				"status", pw.status, "request_id", w.Header().Get(RequestIDHeader), "detail", detail)
			detail = "internal error"
		}
		h := w.Header()
		h.Del("Content-Length")
		writeProblem(w, r, problemFor(code, pw.status, detail))
	})
}

// problemWriter holds back an error response that is not already a problem,
// keeping its status and (the first 4 KiB of) its body.
type problemWriter struct {
	http.ResponseWriter
	status  int // set when the response is being held back
	started bool
	body    bytes.Buffer
}

func (p *problemWriter) WriteHeader(code int) {
	if p.started || p.status != 0 {
		return
	}
	if code >= 400 && !strings.HasPrefix(p.Header().Get("Content-Type"), ProblemContentType) {
		p.status = code
		return
	}
	p.started = true
	p.ResponseWriter.WriteHeader(code)
}

func (p *problemWriter) Write(b []byte) (int, error) {
	if !p.started && p.status == 0 {
		p.WriteHeader(http.StatusOK)
	}
	if p.status != 0 {
		if room := 4096 - p.body.Len(); room > 0 {
			p.body.Write(b[:min(len(b), room)])
		}
		return len(b), nil
	}
	return p.ResponseWriter.Write(b)
}

func (p *problemWriter) Flush() {
	if p.status != 0 {
		return
	}
	if f, ok := p.ResponseWriter.(http.Flusher); ok {
		if !p.started {
			p.WriteHeader(http.StatusOK)
		}
		f.Flush()
	}
}

func (p *problemWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// slogBridge lets tusd, which logs through golang.org/x/exp/slog, write to
// the server's log/slog handler. tusd logs every request at Info; those lines
// repeat the access log, so they are demoted to Debug.
type slogBridge struct {
	h slog.Handler
}

func bridgeLevel(l expslog.Level) slog.Level {
	if l <= expslog.LevelInfo {
		return slog.LevelDebug
	}
	return slog.Level(l)
}

func (b slogBridge) Enabled(ctx context.Context, l expslog.Level) bool {
	return b.h.Enabled(ctx, bridgeLevel(l))
}

func (b slogBridge) Handle(ctx context.Context, r expslog.Record) error {
	out := slog.NewRecord(r.Time, bridgeLevel(r.Level), "tusd: "+r.Message, r.PC)
	r.Attrs(func(a expslog.Attr) bool {
		out.AddAttrs(bridgeAttr(a))
		return true
	})
	return b.h.Handle(ctx, out)
}

func (b slogBridge) WithAttrs(attrs []expslog.Attr) expslog.Handler {
	conv := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		conv[i] = bridgeAttr(a)
	}
	return slogBridge{h: b.h.WithAttrs(conv)}
}

func (b slogBridge) WithGroup(name string) expslog.Handler {
	return slogBridge{h: b.h.WithGroup(name)}
}

func bridgeAttr(a expslog.Attr) slog.Attr {
	v := a.Value.Resolve()
	if v.Kind() == expslog.KindGroup {
		g := v.Group()
		args := make([]any, len(g))
		for i, ga := range g {
			args[i] = bridgeAttr(ga)
		}
		return slog.Group(a.Key, args...)
	}
	return slog.Any(a.Key, v.Any())
}

// newUploadID returns a random 128-bit upload ID in the upload store's form
// (32 lower-case hex digits).
func newUploadID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("httpapi: upload ID: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
