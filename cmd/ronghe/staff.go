package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/client"
	"github.com/ronghe/ronghe/httpapi"
	"github.com/ronghe/ronghe/lake"
	"github.com/ronghe/ronghe/lake/lakeapi"
	"github.com/ronghe/ronghe/lake/lakesql"
	"github.com/ronghe/ronghe/pki"
)

// The operator's staff reach the lake — catalog, governed SQL, query log —
// through the API with a staff certificate the platform CA issued: it names
// the person (urn:ronghe:staff:<name>) and their lakesql role. Banks and
// enterprises are refused there; they get reports.

// runAdminStaff dispatches `ronghe admin staff add|revoke`.
func runAdminStaff(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: ronghe admin staff add|revoke [flags]")
	}
	switch args[0] {
	case "add":
		return adminStaffAdd(ctx, e, args[1:])
	case "revoke":
		return adminStaffRevoke(ctx, e, args[1:])
	}
	return usagef("unknown admin staff command %q (add, revoke)", args[0])
}

// staffIssued is what `admin staff add --json` prints.
type staffIssued struct {
	Name     string    `json:"name"`
	Role     string    `json:"role"`
	Serial   string    `json:"serial"`
	NotAfter time.Time `json:"not_after"`
	Dir      string    `json:"dir"`
}

func adminStaffAdd(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "admin staff add")
	var sf storeFlags
	sf.register(fs)
	name := fs.String("name", "", "the person's login name, recorded with every query (required)")
	role := fs.String("role", "", "lake role: analyst, supervisor or admin (required)")
	server := fs.String("server", "https://127.0.0.1:8443", "platform URL written into the credentials")
	out := fs.String("out", "", "credentials directory: ca.pem, cert.pem, key.pem, staff.json (default ./staff-NAME)")
	days := fs.Int("days", 365, "certificate validity in days")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" || *role == "" {
		return usagef("--name and --role are required")
	}
	r, err := lakesql.RoleByName(*role)
	if err != nil {
		return usagef("--role: %s", ronghe.ErrorMessage(err))
	}
	if !pki.ValidStaffName(*name) {
		return usagef("--name %q: 1-63 characters A-Z a-z 0-9 . _ @ -, starting with a letter or digit", *name)
	}
	if *days < 1 {
		return usagef("--days must be at least 1")
	}
	dir := *out
	if dir == "" {
		dir = "staff-" + *name
	}
	db, keys, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	issued, err := issueCertificate(ctx, db, func() (*pki.Issued, error) {
		return keys.ca.IssueStaff(*name, r.Name, time.Duration(*days)*24*time.Hour)
	})
	if err != nil {
		return err
	}
	st := client.Staff{Server: *server, Name: *name, Role: r.Name, Serial: issued.Certificate.Serial, Until: issued.Certificate.NotAfter}
	if err := client.SaveStaff(dir, st, keys.ca.CertPEM(), issued.CertPEM, issued.KeyPEM); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, staffIssued{Name: *name, Role: r.Name, Serial: issued.Certificate.Serial, NotAfter: issued.Certificate.NotAfter, Dir: dir})
	}
	fmt.Fprintf(e.stdout, "issued staff certificate %s to %s, role %s (%s), valid until %s\n", issued.Certificate.Serial, *name, r.Name, r.Doc,
		issued.Certificate.NotAfter.In(shanghai()).Format("2006-01-02"))
	fmt.Fprintf(e.stdout, "credentials written to %s — hand them to %s in person; use: ronghe sql --server %s --staff %s \"SELECT …\"\n", dir, *name, *server, dir)
	return nil
}

func adminStaffRevoke(ctx context.Context, e *env, args []string) error {
	rec, err := adminRevoke(ctx, e, "admin staff revoke",
		"serial (hex) of the staff certificate to revoke (required; see staff.json or `admin staff add --json`)", args,
		func(rec *ronghe.Certificate) error {
			if !strings.HasPrefix(rec.Owner, pki.StaffOwnerPrefix) {
				return ronghe.Errorf(ronghe.EINVALID, "certificate %s belongs to %s, not to a member of staff (use admin cert revoke)", rec.Serial, rec.Owner)
			}
			return nil
		})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "revoked staff certificate %s of %s\n", rec.Serial, strings.TrimPrefix(rec.Owner, pki.StaffOwnerPrefix))
	return nil
}

// staffFlags are the flags of catalog and sql that call the platform's lake
// API instead of opening the lake.
type staffFlags struct {
	server, dir, cert, key, ca string
}

func addStaffFlags(fs *flag.FlagSet) *staffFlags {
	sf := &staffFlags{}
	fs.StringVar(&sf.server, "server", "", "ask the platform at this URL (the lake API, with a staff certificate) instead of opening the lake in --data")
	fs.StringVar(&sf.dir, "staff", os.Getenv("RONGHE_STAFF"), "with --server: staff credentials directory (from 'ronghe admin staff add --out')")
	fs.StringVar(&sf.cert, "cert", "", "with --server: staff client certificate (default STAFF/cert.pem)")
	fs.StringVar(&sf.key, "key", "", "with --server: its private key (default STAFF/key.pem)")
	fs.StringVar(&sf.ca, "ca", "", "with --server: the platform CA certificate (default STAFF/ca.pem)")
	return sf
}

// remote reports whether the command calls the API.
func (sf *staffFlags) remote() bool { return sf.server != "" }

// client returns an API client presenting the staff certificate.
func (sf *staffFlags) client() (*client.Client, error) {
	prof := &client.Profile{Server: sf.server}
	if sf.dir != "" {
		p, _, err := client.LoadStaff(sf.dir)
		if err != nil {
			return nil, err
		}
		prof.CAPEM, prof.CertPEM, prof.KeyPEM = p.CAPEM, p.CertPEM, p.KeyPEM
	}
	for _, f := range []struct {
		path string
		dst  *[]byte
		flag string
	}{{sf.cert, &prof.CertPEM, "--cert"}, {sf.key, &prof.KeyPEM, "--key"}, {sf.ca, &prof.CAPEM, "--ca"}} {
		if f.path != "" {
			b, err := os.ReadFile(f.path)
			if err != nil {
				return nil, usagef("%s: %v", f.flag, err)
			}
			*f.dst = b
		}
	}
	if len(prof.CAPEM) == 0 || len(prof.CertPEM) == 0 || len(prof.KeyPEM) == 0 {
		return nil, usagef("--server needs staff credentials: --staff DIR, or --cert, --key and --ca")
	}
	return client.New(prof)
}

// staffAuth reads the staff member httpapi authenticated.
var staffAuth = lakeapi.StaffFunc(func(r *http.Request) (lakeapi.Principal, error) {
	st, ok := httpapi.StaffFrom(r.Context())
	if !ok {
		return lakeapi.Principal{}, ronghe.Errorf(ronghe.EUNAUTHORIZED, "no staff identity")
	}
	return lakeapi.Principal{User: st.Name, Role: st.Role}, nil
})

// lakeRoutes is the lake API for httpapi.Config.Lake.
func lakeRoutes(h http.Handler) *httpapi.Lake {
	return &httpapi.Lake{Handler: h, Catalog: reflect.TypeFor[[]lake.TableInfo](), Query: reflect.TypeFor[ronghe.LakeQuery](),
		Result: reflect.TypeFor[ronghe.LakeResult](), Log: reflect.TypeFor[[]ronghe.LakeLogEntry]()}
}
