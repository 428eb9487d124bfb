package httpapi

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/ronghe/ronghe"
)

// FileSubmitter is the exchange's small-batch path (*exchange.Service): the
// manifest, its signature and every file in one call.
type FileSubmitter interface {
	SubmitWithFiles(ctx context.Context, tenant string, manifest, signature []byte, files map[string][]byte) (*ronghe.Submission, bool, error)
}

// Parts of a multipart/form-data POST /v1/submissions: the exact manifest
// bytes, the signature's raw bytes, and one part per file named PartFile
// whose filename is the file's name in the manifest.
const (
	PartManifest  = "manifest"
	PartSignature = "signature"
	PartFile      = "file"
)

// DefaultMaxInlineBytes is the default limit on the files of a submission
// sent in one request (Config.MaxInlineBytes).
const DefaultMaxInlineBytes = 4 << 20

// inlineOverhead is what a one-request submission may carry beside its
// files: the manifest (at most 64 KiB), the signature and the multipart
// framing.
const inlineOverhead = 128 << 10

// submitInline serves a multipart/form-data POST /v1/submissions: the whole
// body is read into memory (at most MaxInlineBytes of files) and handed to
// the exchange, which checks it as it checks a manifest and its uploads, then
// logs the acceptance and issues the receipt before the answer.
func (s *Server) submitInline(w http.ResponseWriter, r *http.Request, tenant, boundary string) error {
	fs, ok := s.cfg.Exchange.(FileSubmitter)
	if !ok || s.cfg.MaxInlineBytes < 0 {
		return ronghe.Errorf(ronghe.EUNSUPPORTED, "this platform takes files only over tus: post the manifest as application/json and upload the files")
	}
	if boundary == "" {
		return ronghe.Errorf(ronghe.EINVALID, "multipart/form-data without a boundary")
	}
	limit := s.maxInline()
	body := http.MaxBytesReader(w, r.Body, limit+inlineOverhead)
	var manifest, signature []byte
	files := map[string][]byte{}
	mr := multipart.NewReader(body, boundary)
	for {
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return inlineReadError(err, limit)
		}
		disp, params, err := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		if err != nil || disp != "form-data" {
			return ronghe.Errorf(ronghe.EINVALID, "every part needs Content-Disposition: form-data with a name")
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return inlineReadError(err, limit)
		}
		switch name := params["name"]; name {
		case PartManifest, PartSignature:
			if manifest != nil && name == PartManifest || signature != nil && name == PartSignature {
				return ronghe.Errorf(ronghe.EINVALID, "part %q is sent twice", name)
			}
			if name == PartManifest {
				manifest = b
			} else {
				signature = b
			}
		case PartFile:
			// The name is taken as sent (not reduced to a base name), so
			// that anything but a name the manifest lists is refused.
			fn, ok := params["filename"]
			if !ok || fn == "" {
				return ronghe.Errorf(ronghe.EINVALID, "a %q part needs a filename: the file's name in the manifest", PartFile)
			}
			if _, dup := files[fn]; dup {
				return ronghe.Errorf(ronghe.EINVALID, "file %q is sent twice", fn)
			}
			files[fn] = b
		default:
			return ronghe.Errorf(ronghe.EINVALID, "unknown part %q: send %q, %q and one %q part per file", name, PartManifest, PartSignature, PartFile)
		}
	}
	if len(manifest) == 0 || len(signature) == 0 {
		return ronghe.Errorf(ronghe.EINVALID, "manifest and signature are both required")
	}
	var total int64
	for _, b := range files {
		total += int64(len(b))
	}
	if total > limit {
		return ronghe.Errorf(ronghe.ETOOLARGE, "the files are %d bytes; send batches over %d bytes with tus", total, limit)
	}
	sub, created, err := fs.SubmitWithFiles(r.Context(), tenant, manifest, signature, files)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	w.Header().Set("Location", "/v1/submissions/"+sub.MessageID)
	return writeJSON(w, r, status, submissionView(sub))
}

func (s *Server) maxInline() int64 {
	if s.cfg.MaxInlineBytes > 0 {
		return s.cfg.MaxInlineBytes
	}
	return DefaultMaxInlineBytes
}

func inlineReadError(err error, limit int64) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return ronghe.Errorf(ronghe.ETOOLARGE, "request larger than %d bytes; send batches over %d bytes with tus", tooBig.Limit, limit)
	}
	return ronghe.WrapError(ronghe.EINVALID, err, "malformed multipart/form-data body")
}
