package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/exchange/upload"
)

// Exchange is the part of the exchange service (*exchange.Service) the API
// exposes. Every method takes the authenticated tenant; an object of another
// tenant must be reported as ENOTFOUND.
type Exchange interface {
	Submit(ctx context.Context, tenant string, manifest, signature []byte) (*ronghe.Submission, error)
	Submission(ctx context.Context, tenant, messageID string) (*ronghe.Submission, error)
	Finalize(ctx context.Context, tenant, messageID string) (*ronghe.Submission, error)
	FileUploaded(ctx context.Context, tenant, uploadID string) (*ronghe.Submission, error)
	UploadStarted(ctx context.Context, tenant, messageID, file, uploadID string) error
	Mailbox(ctx context.Context, tenant string, f ronghe.MailboxFilter) ([]*ronghe.MailboxMessage, error)
	MailboxMessage(ctx context.Context, tenant, id string) (*ronghe.MailboxMessage, error)
	Acknowledge(ctx context.Context, tenant, id string, ack []byte) (*ronghe.MailboxMessage, error)
	Evidence(ctx context.Context, tenant, messageID string) (*evidence.Bundle, error)
}

// Institutions is what the API reads about tenants: their suite (for new
// uploads) and their client certificates (checked on every request).
type Institutions interface {
	FindInstitution(ctx context.Context, code string) (*ronghe.Institution, error)
	FindCertificate(ctx context.Context, serial string) (*ronghe.Certificate, error)
}

// Config is the server's wiring.
type Config struct {
	// Exchange is the exchange service.
	Exchange Exchange
	// Institutions resolves tenants and their certificates.
	Institutions Institutions
	// Uploads is the tus data store. If it also implements
	// handler.TerminaterDataStore, uploads can be deleted (tus termination);
	// if it implements handler.Locker, its locks serialise requests on one
	// upload, otherwise an in-process lock does (enough for one replica).
	Uploads handler.DataStore
	// LogHandler serves the transparency log's tlog-tiles resources
	// (checkpoint, tile/...), mounted under /log/.
	LogHandler http.Handler
	// PlatformKeys is the platform's public identity, served at
	// GET /v1/platform.
	PlatformKeys PlatformKeys
	// MaxUploadBytes caps one upload; 0 leaves only the per-institution
	// limits the exchange enforces.
	MaxUploadBytes int64
	// MaxInlineBytes caps the files of a submission sent whole in one
	// multipart/form-data POST /v1/submissions (larger batches go over tus);
	// 0 means DefaultMaxInlineBytes, a negative value turns that path off.
	// The path also needs an Exchange that implements FileSubmitter.
	MaxInlineBytes int64
	// Reports answers institutions' flow report requests; Policy serves
	// enterprises' authorizations and query records. Both optional: their
	// routes exist only when set.
	Reports Reports
	Policy  Policy
	// Disputes serves enterprises' disputes and institutions' answers;
	// optional like Reports.
	Disputes Disputes
	// Governance serves institutions' batch checks, tickets and scores;
	// optional like Reports.
	Governance Governance
	// Lake serves the operator's staff the data catalog and governed SQL;
	// optional like Reports.
	Lake *Lake
	// Logger receives access logs and errors; slog.Default when nil.
	Logger *slog.Logger
}

// MaxRequestBytes caps JSON request bodies (submissions, acknowledgments).
const MaxRequestBytes = 1 << 20

// Server is the HTTP API.
type Server struct {
	cfg        Config
	log        *slog.Logger
	tus        *handler.UnroutedHandler
	terminate  bool
	tenantHook func(context.Context, string) context.Context
	routes     []route
	mux        *http.ServeMux
	handler    http.Handler
	openapi    []byte
}

// NewServer checks the wiring, builds the routes and renders the OpenAPI
// document.
func NewServer(cfg Config) (*Server, error) {
	switch {
	case cfg.Exchange == nil:
		return nil, errors.New("httpapi: Config.Exchange is nil")
	case cfg.Institutions == nil:
		return nil, errors.New("httpapi: Config.Institutions is nil")
	case cfg.Uploads == nil:
		return nil, errors.New("httpapi: Config.Uploads is nil")
	case cfg.LogHandler == nil:
		return nil, errors.New("httpapi: Config.LogHandler is nil")
	case cfg.MaxUploadBytes < 0:
		return nil, errors.New("httpapi: Config.MaxUploadBytes is negative")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, tenantHook: upload.WithTenant}
	if err := s.newTus(); err != nil {
		return nil, fmt.Errorf("httpapi: tus handler: %w", err)
	}
	s.routes = s.buildRoutes()
	mux := http.NewServeMux()
	for i := range s.routes {
		rt := &s.routes[i]
		h := rt.serve(s)
		if rt.staff {
			h = s.authenticateStaff(h)
		} else if rt.auth && rt.anyParty {
			h = s.authenticateParty(h)
		} else if rt.auth && rt.enterprise {
			h = s.authenticateEnterprise(h)
		} else if rt.auth {
			h = s.authenticate(h)
		}
		mux.Handle(rt.method+" "+rt.path, h)
	}
	doc, err := s.renderOpenAPI()
	if err != nil {
		return nil, fmt.Errorf("httpapi: openapi: %w", err)
	}
	s.openapi = doc
	s.mux = mux
	s.handler = observe(s.log, problemMux(mux))
	return s, nil
}

// Handler returns the API's handler, to serve over TLS with a configuration
// that verifies client certificates when given (pki.CA.ServerTLS).
func (s *Server) Handler() http.Handler { return s.handler }

// OpenAPI returns the OpenAPI 3.1 document generated from the route table.
func (s *Server) OpenAPI() []byte { return append([]byte(nil), s.openapi...) }
