package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/blobstore"
	"github.com/ronghe/ronghe/envelope"
	"github.com/ronghe/ronghe/exchange"
	"github.com/ronghe/ronghe/exchange/upload"
	"github.com/ronghe/ronghe/governance"
	"github.com/ronghe/ronghe/httpapi"
	"github.com/ronghe/ronghe/pipeline"
	"github.com/ronghe/ronghe/policy"
	"github.com/ronghe/ronghe/report"
	"github.com/ronghe/ronghe/sqlstore"
)

// platformConfig is everything `ronghe serve` and `ronghe demo` need to run
// the platform.
type platformConfig struct {
	store   storeFlags
	blob    string   // blob store URL; default file://<data>/blobs
	kekFile string   // key-encryption key file; default <data>/keys/kek.key
	uploads string   // upload staging directory for non-file blob stores
	hosts   []string // names in the server certificate
	logger  *slog.Logger

	// cluster is the log directory and, with PostgreSQL, this process's
	// place among the serve processes (scaleout.go).
	cluster clusterFlags
	// uploadSweep expires abandoned uploads (uploadsweep.go).
	uploadSweep uploadSweepFlags
}

// platform is a running platform's components.
type platform struct {
	db      *sqlstore.DB
	keys    *platformKeys
	info    *ronghe.PlatformInfo
	blobs   *blobstore.Store
	uploads *upload.Store
	log     txLog
	exch    *exchange.Service
	policy  *policy.Service
	reports *report.Service
	pipe    *pipeline.Pipeline
	// closeLake closes the lakehouse the pipeline lands batches in.
	closeLake func() error
	api       *httpapi.Server
	tls       *tls.Config
	logger    *slog.Logger

	// disputes serves enterprises' disputes (services.go).
	disputes *policy.Disputes
	// gov is the quality loop (governance.go).
	gov *governance.Service
	// lakeAPI is the staff's lake API (lakestage.go, staff.go).
	lakeAPI *httpapi.Lake
	// uploadSweep expires abandoned uploads (uploadsweep.go).
	uploadSweep uploadSweepFlags
}

func openPlatform(ctx context.Context, cfg platformConfig) (p *platform, err error) {
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	p = &platform{logger: cfg.logger, uploadSweep: cfg.uploadSweep}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	if p.db, p.keys, err = cfg.store.open(ctx); err != nil {
		return nil, err
	}
	if p.info, err = p.keys.info(); err != nil {
		return nil, err
	}
	kekPath := cfg.kekFile
	if kekPath == "" {
		kekPath = filepath.Join(cfg.store.data, "keys", "kek.key")
	}
	kek, err := envelope.LoadOrCreateLocalKEK(kekPath)
	if err != nil {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	blobURL := cfg.blob
	if blobURL == "" {
		abs, err := filepath.Abs(filepath.Join(cfg.store.data, "blobs"))
		if err != nil {
			return nil, err
		}
		blobURL = "file://" + abs
	}
	if p.blobs, err = blobstore.Open(ctx, blobURL, blobstore.WithKEK(kek), blobstore.WithLogger(cfg.logger)); err != nil {
		return nil, err
	}
	staging := upload.StagingDir(p.blobs)
	if staging == "" {
		staging = cfg.uploads
		if staging == "" {
			staging = filepath.Join(cfg.store.data, "uploads")
		}
	}
	if p.uploads, err = upload.New(upload.Config{Dir: staging, KEK: kek, Logger: cfg.logger}); err != nil {
		return nil, err
	}
	if p.log, err = openLog(ctx, cfg, p.db, p.keys); err != nil {
		return nil, err
	}
	if err := p.openServices(ctx, cfg); err != nil {
		return nil, err
	}
	// Every accepted submission gets its processing job: on SQLite in the
	// very transaction that accepts it, on PostgreSQL (River's own pool)
	// just before.
	beforeAccept := p.pipe.Enqueue
	if p.db.Dialect() == sqlstore.DialectSQLite {
		p.db.OnAcceptMany(p.pipe.EnqueueManyTx)
		beforeAccept = nil
	}
	p.exch = exchange.New(exchange.Config{
		Institutions: p.db,
		Store:        p.db,
		Log:          p.log,
		Uploads:      &uploadAdapter{store: p.uploads, blobs: p.blobs},
		Blobs:        p.blobs,
		LogOrigin:    cfg.store.origin,
		Signers:      p.keys.signers(),
		Platform:     p.info,
		BeforeAccept: beforeAccept,
		Lock:         p.db.Lock,
		Logger:       cfg.logger,
	})
	if p.api, err = httpapi.NewServer(httpapi.Config{
		Exchange:     p.exch,
		Institutions: p.db,
		Uploads:      p.uploads,
		LogHandler:   p.log.Handler(),
		PlatformKeys: *p.info,
		Reports:      p.reports,
		Policy:       p.policy,
		Disputes:     p.disputes,
		Governance:   p.gov,
		Lake:         p.lakeAPI,
		Logger:       cfg.logger,
	}); err != nil {
		return nil, err
	}
	hosts := cfg.hosts
	if len(hosts) == 0 {
		hosts = []string{"localhost", "127.0.0.1", "::1"}
	}
	srv, err := p.keys.ca.IssueServer(hosts, 90*24*time.Hour)
	if err != nil {
		return nil, err
	}
	if p.tls, err = p.keys.ca.ServerTLS(srv.CertPEM, srv.KeyPEM); err != nil {
		return nil, err
	}
	return p, nil
}

// serve runs the HTTPS server on ln until ctx is done, then shuts it down
// gracefully.
func (p *platform) serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           p.api.Handler(),
		TLSConfig:         p.tls,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          slog.NewLogLogger(p.logger.Handler(), slog.LevelWarn),
	}
	if err := p.pipe.Start(ctx); err != nil {
		return err
	}
	defer p.gov.Start(ctx)() // deadlines and owed messages
	defer startUploadSweep(ctx, p.uploads, p.uploadSweep, time.Now, p.logger)()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.pipe.Stop(sctx); err != nil {
			p.logger.Warn("stopping the pipeline", "err", err)
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- hs.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := hs.Shutdown(sctx)
		if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
			err = e
		}
		return err
	}
}

func (p *platform) close() {
	if p.closeLake != nil {
		if err := p.closeLake(); err != nil {
			p.logger.Warn("closing the lake", "err", err)
		}
	}
	if p.log != nil {
		if err := p.log.Close(); err != nil {
			p.logger.Warn("closing the log", "err", err)
		}
	}
	if p.gov != nil {
		if err := p.gov.Close(); err != nil {
			p.logger.Warn("closing the rule engine", "err", err)
		}
	}
	if p.blobs != nil {
		p.blobs.Close()
	}
	if p.db != nil {
		p.db.Close()
	}
}

// uploadAdapter presents the upload store to the exchange, scoping every call
// to the tenant it is made for.
type uploadAdapter struct {
	store *upload.Store
	blobs *blobstore.Store
}

func (a *uploadAdapter) Finished(ctx context.Context, tenant, id string) (*exchange.Upload, error) {
	r, err := a.store.Completed(upload.WithTenant(ctx, tenant), id)
	if err != nil {
		return nil, err
	}
	return &exchange.Upload{Tenant: r.Tenant, MessageID: r.MetaData[upload.MetaMessage], File: r.MetaData[upload.MetaFile], Size: r.Size, Digest: r.Digest}, nil
}

func (a *uploadAdapter) Promote(ctx context.Context, tenant, id, key string) error {
	return a.store.Promote(upload.WithTenant(ctx, tenant), id, a.blobs, key)
}

func (a *uploadAdapter) Discard(ctx context.Context, tenant, id string) error {
	return a.store.Terminate(upload.WithTenant(ctx, tenant), id)
}

func (a *uploadAdapter) Stored(ctx context.Context, key string) (bool, error) {
	return a.blobs.Exists(ctx, key)
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "serve")
	var cfg platformConfig
	cfg.store.register(fs)
	cfg.cluster.register(fs)
	cfg.uploadSweep.register(fs)
	listen := fs.String("listen", envOr("RONGHE_LISTEN", "127.0.0.1:8443"), "address to serve HTTPS on")
	fs.StringVar(&cfg.blob, "blob", os.Getenv("RONGHE_BLOB"), "blob store URL: file:///dir (default <data>/blobs) or s3://bucket?endpoint=…&region=…&use_path_style=true")
	fs.StringVar(&cfg.kekFile, "kek-file", os.Getenv("RONGHE_KEK_FILE"), "key-encryption key file, kept apart from the data (default <data>/keys/kek.key)")
	fs.StringVar(&cfg.uploads, "uploads", "", "upload staging directory when the blob store is not local (default <data>/uploads)")
	hosts := fs.String("hosts", "localhost,127.0.0.1,::1", "comma-separated names and addresses for the server certificate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.hosts = splitComma(*hosts)
	cfg.logger = e.logger
	routeKlog(e.logger)
	p, err := openPlatform(ctx, cfg)
	if err != nil {
		return err
	}
	defer p.close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	e.logger.Info("ronghe serving", "addr", ln.Addr().String(), "data", cfg.store.data, "database", p.db.Dialect(), "log_origin", cfg.store.origin)
	fmt.Fprintf(e.stdout, "ronghe listening on https://%s (CA: %s)\n", ln.Addr(), filepath.Join(cfg.store.data, "pki", "ca.pem"))
	return p.serve(ctx, ln)
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if part := s[start:i]; part != "" {
				out = append(out, part)
			}
			start = i + 1
		}
	}
	return out
}
