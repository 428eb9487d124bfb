package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/client"
	"github.com/ronghe/ronghe/pki"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/suite"
)

// onboardEnterprise registers an enterprise, generates its signing key,
// issues its client certificate and returns its profile (Institution holds
// the USCC).
func onboardEnterprise(ctx context.Context, db *sqlstore.DB, keys *platformKeys, uscc, name string, s ronghe.Suite, server, out string) (*client.Profile, error) {
	if !rrs.ValidUSCC(uscc) {
		return nil, ronghe.Errorf(ronghe.EINVALID, "%q is not a valid unified social credit code", uscc)
	}
	now := time.Now().UTC()
	if err := db.CreateEnterprise(ctx, &ronghe.Enterprise{USCC: uscc, Name: name, Suite: s, Status: ronghe.StatusActive, CreatedAt: now}); err != nil {
		return nil, err
	}
	signer, err := suite.GenerateKey(s)
	if err != nil {
		return nil, err
	}
	if err := registerKey(ctx, db, uscc, signer.PublicKey(), now); err != nil {
		return nil, err
	}
	issued, err := issueCertificate(ctx, db, func() (*pki.Issued, error) { return keys.ca.IssueEnterprise(uscc, name, 365*24*time.Hour) })
	if err != nil {
		return nil, err
	}
	info, err := keys.info()
	if err != nil {
		return nil, err
	}
	prof := &client.Profile{Server: server, Institution: uscc, Suite: s, CAPEM: keys.ca.CertPEM(),
		CertPEM: issued.CertPEM, KeyPEM: issued.KeyPEM, Signer: signer, Pinned: info}
	if out != "" {
		if err := prof.Save(out); err != nil {
			return nil, err
		}
	}
	return prof, nil
}

func adminEnterpriseAdd(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "admin enterprise add")
	var sf storeFlags
	sf.register(fs)
	uscc := fs.String("uscc", "", "unified social credit code (required)")
	name := fs.String("name", "", "registered name (required)")
	suiteName := fs.String("suite", "GM", "GM or INTL")
	server := fs.String("server", "https://127.0.0.1:8443", "platform URL written into the profile")
	out := fs.String("out", "", "write the enterprise's profile directory here (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *uscc == "" || *name == "" || *out == "" {
		return usagef("--uscc, --name and --out are required")
	}
	db, keys, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := onboardEnterprise(ctx, db, keys, *uscc, *name, ronghe.Suite(*suiteName), *server, *out); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "onboarded enterprise %s %s; profile in %s\n", *uscc, *name, *out)
	return nil
}
