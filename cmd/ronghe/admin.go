package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"text/tabwriter"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/client"
	"github.com/ronghe/ronghe/pki"
	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/suite"
)

// storeFlags are the flags that locate the platform's data: every command
// that opens the platform's stores takes them.
type storeFlags struct {
	data     string
	database string
	origin   string
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.data, "data", envOr("RONGHE_DATA", "ronghe-data"), "platform data directory (keys, CA, log, blobs, SQLite database)")
	fs.StringVar(&s.database, "database", os.Getenv("RONGHE_DATABASE"), "metadata database: postgres://… for PostgreSQL; default SQLite in the data directory")
	fs.StringVar(&s.origin, "origin", envOr("RONGHE_LOG_ORIGIN", "ronghe.local/log"), "transparency log origin (its name in checkpoints)")
}

func (s *storeFlags) dsn() string {
	if s.database != "" {
		return s.database
	}
	return "sqlite:" + filepath.Join(s.data, "ronghe.db")
}

func (s *storeFlags) open(ctx context.Context) (*sqlstore.DB, *platformKeys, error) {
	if err := os.MkdirAll(s.data, 0o700); err != nil {
		return nil, nil, err
	}
	keys, err := loadPlatformKeys(s.data, s.origin)
	if err != nil {
		return nil, nil, err
	}
	db, err := sqlstore.Open(ctx, s.dsn())
	if err != nil {
		return nil, nil, err
	}
	return db, keys, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func runAdmin(ctx context.Context, e *env, args []string) error {
	if len(args) < 2 {
		return usagef("usage: ronghe admin institution add|list | enterprise add | staff add|revoke | key rotate|revoke | cert issue|revoke [flags]")
	}
	switch args[0] + " " + args[1] {
	case "institution add":
		return adminInstitutionAdd(ctx, e, args[2:])
	case "institution list":
		return adminInstitutionList(ctx, e, args[2:])
	case "key rotate":
		return adminKeyRotate(ctx, e, args[2:])
	case "key revoke":
		return adminKeyRevoke(ctx, e, args[2:])
	case "cert issue":
		return adminCertIssue(ctx, e, args[2:])
	case "cert revoke":
		return adminCertRevoke(ctx, e, args[2:])
	case "enterprise add":
		return adminEnterpriseAdd(ctx, e, args[2:])
	case "staff add", "staff revoke":
		return runAdminStaff(ctx, e, args[1:])
	}
	return usagef("unknown admin command %q", args[0]+" "+args[1])
}

var institutionCode = regexp.MustCompile(`^[A-Z0-9]{14}$`)

// onboarding is what adminInstitutionAdd and the demo share: create the
// institution, register its signing key, issue its client certificate and
// write its profile directory.
type onboarding struct {
	code, name string
	kind       ronghe.PartyKind
	suite      ronghe.Suite
	server     string
	publicKey  string // PEM file of a key the bank generated; empty = generate
	out        string
	certDays   int
}

func onboard(ctx context.Context, db *sqlstore.DB, keys *platformKeys, o onboarding) (*client.Profile, error) {
	if !institutionCode.MatchString(o.code) {
		return nil, ronghe.Errorf(ronghe.EINVALID, "institution code %q must be 14 characters A-Z 0-9", o.code)
	}
	if !o.suite.Valid() {
		return nil, ronghe.Errorf(ronghe.EINVALID, "suite must be GM or INTL")
	}
	now := time.Now().UTC()
	inst := &ronghe.Institution{Code: o.code, Name: o.name, Kind: o.kind, Suite: o.suite, Status: ronghe.StatusActive, CreatedAt: now}
	if err := db.CreateInstitution(ctx, inst); err != nil {
		return nil, err
	}
	prof := &client.Profile{Server: o.server, Institution: o.code, Suite: o.suite, CAPEM: keys.ca.CertPEM()}
	var pub *suite.PublicKey
	if o.publicKey != "" {
		b, err := os.ReadFile(o.publicKey)
		if err != nil {
			return nil, err
		}
		if pub, err = suite.ParsePublicKeyPEM(b); err != nil {
			return nil, err
		}
		if pub.Suite() != o.suite {
			return nil, ronghe.Errorf(ronghe.EINVALID, "the public key is a %s key, the institution's suite is %s", pub.Suite(), o.suite)
		}
	} else {
		signer, err := suite.GenerateKey(o.suite)
		if err != nil {
			return nil, err
		}
		prof.Signer, pub = signer, signer.PublicKey()
	}
	if err := registerKey(ctx, db, o.code, pub, now); err != nil {
		return nil, err
	}
	issued, err := issueCertificate(ctx, db, func() (*pki.Issued, error) {
		return keys.ca.IssueClient(o.code, o.name, time.Duration(o.certDays)*24*time.Hour)
	})
	if err != nil {
		return nil, err
	}
	prof.CertPEM, prof.KeyPEM = issued.CertPEM, issued.KeyPEM
	if prof.Pinned, err = keys.info(); err != nil {
		return nil, err
	}
	if o.out != "" && prof.Signer != nil {
		if err := prof.Save(o.out); err != nil {
			return nil, err
		}
	}
	return prof, nil
}

func registerKey(ctx context.Context, db *sqlstore.DB, owner string, pub *suite.PublicKey, at time.Time) error {
	pemBytes, err := pub.MarshalPEM()
	if err != nil {
		return err
	}
	return db.RegisterKey(ctx, &ronghe.Key{ID: pub.Fingerprint(), Owner: owner, Suite: pub.Suite(), PublicKeyPEM: string(pemBytes), ValidFrom: at})
}

func adminInstitutionAdd(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "admin institution add")
	var sf storeFlags
	sf.register(fs)
	var o onboarding
	var kind, suiteName string
	var asJSON bool
	fs.StringVar(&o.code, "code", "", "14-character institution code (required)")
	fs.StringVar(&o.name, "name", "", "registered name (required)")
	fs.StringVar(&kind, "kind", "bank", "bank, payment or operator")
	fs.StringVar(&suiteName, "suite", "GM", "cryptographic suite: GM (SM2/SM3/SM4) or INTL (Ed25519/SHA-256/AES)")
	fs.StringVar(&o.server, "server", "https://127.0.0.1:8443", "platform URL written into the profile")
	fs.StringVar(&o.publicKey, "public-key", "", "PEM public signing key the institution generated (default: generate one into the profile)")
	fs.StringVar(&o.out, "out", "", "write the institution's profile directory here (certificates, keys, pinned platform keys)")
	fs.IntVar(&o.certDays, "cert-days", 365, "client certificate validity in days")
	fs.BoolVar(&asJSON, "json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.code == "" || o.name == "" {
		return usagef("--code and --name are required")
	}
	o.kind, o.suite = ronghe.PartyKind(kind), ronghe.Suite(suiteName)
	db, keys, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	prof, err := onboard(ctx, db, keys, o)
	if err != nil {
		return err
	}
	if o.out != "" && prof.Signer == nil {
		// The bank keeps its own signing key: write the TLS part only.
		for name, data := range map[string][]byte{client.CAFile: prof.CAPEM, client.CertFile: prof.CertPEM, client.KeyFile: prof.KeyPEM} {
			if err := os.MkdirAll(o.out, 0o700); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(o.out, name), data, 0o600); err != nil {
				return err
			}
		}
	}
	if asJSON {
		return printJSON(e.stdout, map[string]any{"code": o.code, "name": o.name, "suite": o.suite, "profile": o.out})
	}
	fmt.Fprintf(e.stdout, "onboarded %s %s (suite %s)\n", o.code, o.name, o.suite)
	if o.out != "" {
		fmt.Fprintf(e.stdout, "profile written to %s — hand it to the institution over a trusted channel\n", o.out)
	}
	return nil
}

func adminInstitutionList(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "admin institution list")
	var sf storeFlags
	sf.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, _, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := db.ListInstitutions(ctx, ronghe.InstitutionFilter{})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, list)
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CODE\tNAME\tKIND\tSUITE\tSTATUS\tSINCE")
	for _, i := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", i.Code, i.Name, i.Kind, i.Suite, i.Status, i.CreatedAt.In(shanghai()).Format("2006-01-02"))
	}
	return tw.Flush()
}

func adminKeyRotate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "admin key rotate")
	var sf storeFlags
	sf.register(fs)
	code := fs.String("institution", "", "institution code (required)")
	pubFile := fs.String("public-key", "", "PEM public key the institution generated (default: generate one into --out)")
	out := fs.String("out", "", "profile directory whose signing key is replaced (with a generated key)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *code == "" || (*pubFile == "" && *out == "") {
		return usagef("--institution and one of --public-key or --out are required")
	}
	db, _, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	inst, err := db.FindInstitution(ctx, *code)
	if err != nil {
		return err
	}
	old, err := db.ListKeys(ctx, *code)
	if err != nil {
		return err
	}
	var pub *suite.PublicKey
	var signer suite.Signer
	if *pubFile != "" {
		b, err := os.ReadFile(*pubFile)
		if err != nil {
			return err
		}
		if pub, err = suite.ParsePublicKeyPEM(b); err != nil {
			return err
		}
	} else {
		if signer, err = suite.GenerateKey(inst.Suite); err != nil {
			return err
		}
		pub = signer.PublicKey()
	}
	if pub.Suite() != inst.Suite {
		return ronghe.Errorf(ronghe.EINVALID, "new key is %s, the institution's suite is %s", pub.Suite(), inst.Suite)
	}
	now := time.Now().UTC()
	if err := registerKey(ctx, db, *code, pub, now); err != nil {
		return err
	}
	// The old keys stop signing now; what they signed before stays verifiable.
	for _, k := range old {
		if k.RevokedAt == nil {
			if err := db.RevokeKey(ctx, *code, k.ID, now, "rotated"); err != nil {
				return err
			}
		}
	}
	if signer != nil {
		pemBytes, err := suite.MarshalPrivateKeyPEM(signer)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(*out, client.SigningFile), pemBytes, 0o600); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "registered key %s for %s; %d earlier key(s) retired\n", pub.Fingerprint(), *code, len(old))
	return nil
}

func adminKeyRevoke(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "admin key revoke")
	var sf storeFlags
	sf.register(fs)
	code := fs.String("institution", "", "institution code (required)")
	id := fs.String("key", "", "key ID (fingerprint) to revoke (required)")
	reason := fs.String("reason", "compromised", "reason recorded with the revocation")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *code == "" || *id == "" {
		return usagef("--institution and --key are required")
	}
	db, _, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.RevokeKey(ctx, *code, *id, time.Now().UTC(), *reason); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "revoked key %s of %s\n", *id, *code)
	return nil
}

func adminCertIssue(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "admin cert issue")
	var sf storeFlags
	sf.register(fs)
	code := fs.String("institution", "", "institution code (required)")
	out := fs.String("out", "", "profile directory to write cert.pem and key.pem into (required)")
	days := fs.Int("days", 365, "validity in days")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *code == "" || *out == "" {
		return usagef("--institution and --out are required")
	}
	db, keys, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	inst, err := db.FindInstitution(ctx, *code)
	if err != nil {
		return err
	}
	issued, err := issueCertificate(ctx, db, func() (*pki.Issued, error) {
		return keys.ca.IssueClient(inst.Code, inst.Name, time.Duration(*days)*24*time.Hour)
	})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, client.CertFile), issued.CertPEM, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, client.KeyFile), issued.KeyPEM, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "issued certificate %s to %s, valid until %s\n", issued.Certificate.Serial, inst.Code, issued.Certificate.NotAfter.Format(time.RFC3339))
	return nil
}

func adminCertRevoke(ctx context.Context, e *env, args []string) error {
	rec, err := adminRevoke(ctx, e, "admin cert revoke", "certificate serial (hex) to revoke (required)", args, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "revoked certificate %s\n", rec.Serial)
	return nil
}
