package main

import (
	"context"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/pki"
	"github.com/ronghe/ronghe/sqlstore"
)

// The certificate steps every onboarding shares — institutions, enterprises
// and the operator's staff — and the revocation `admin cert revoke` and
// `admin staff revoke` share.

// issueCertificate issues a client certificate with the platform CA (issue
// is one of its Issue methods, subject and validity bound) and registers it
// in the store, where the API looks up every certificate presented to it and
// a revocation finds it.
func issueCertificate(ctx context.Context, db *sqlstore.DB, issue func() (*pki.Issued, error)) (*pki.Issued, error) {
	issued, err := issue()
	if err != nil {
		return nil, err
	}
	if err := db.AddCertificate(ctx, &issued.Certificate); err != nil {
		return nil, err
	}
	return issued, nil
}

// adminRevoke runs a revoke command: the store flags and --serial (described
// by serialUsage), then the revocation, effective now. allow, when set, is
// given the certificate's record first and refuses one the command may not
// revoke. It returns the record, or without allow one holding only the
// serial as given.
func adminRevoke(ctx context.Context, e *env, command, serialUsage string, args []string, allow func(*ronghe.Certificate) error) (*ronghe.Certificate, error) {
	fs := newFlags(e, command)
	var sf storeFlags
	sf.register(fs)
	serial := fs.String("serial", "", serialUsage)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *serial == "" {
		return nil, usagef("--serial is required")
	}
	db, _, err := sf.open(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rec := &ronghe.Certificate{Serial: *serial}
	if allow != nil {
		if rec, err = db.FindCertificate(ctx, *serial); err != nil {
			return nil, err
		}
		if err := allow(rec); err != nil {
			return nil, err
		}
	}
	if err := db.RevokeCertificate(ctx, rec.Serial, time.Now().UTC()); err != nil {
		return nil, err
	}
	return rec, nil
}
