package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/sqlstore/sqltest"
)

// testPoolSize caps each PostgreSQL test store's pool: many stores run in
// parallel (and other packages' tests share the server), and a few
// connections per store are plenty to make concurrent writers race.
const testPoolSize = 4

// openDSN opens a store on dsn and closes it when the test ends.
func openDSN(t *testing.T, dsn string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if db.Dialect() == sqlstore.DialectPostgres {
		db.SQL().SetMaxOpenConns(testPoolSize)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestSQLite(t *testing.T) {
	testStore(t, func(t *testing.T) *sqlstore.DB { return openDSN(t, sqltest.SQLite(t)) })
}

func TestPostgres(t *testing.T) {
	sqltest.PostgresBase(t) // skip (or fail) here once rather than in every subtest
	testStore(t, func(t *testing.T) *sqlstore.DB { return openDSN(t, sqltest.Postgres(t)) })
}

// shanghai is the platform's business time zone; times given in it must come
// back as the same instant in UTC.
var shanghai = time.FixedZone("CST", 8*3600)

// base is a fixed instant in the business time zone, at the microsecond
// precision the store keeps.
var base = time.Date(2025, 3, 31, 23, 59, 58, 123456000, shanghai)

// baseNanos is base with nanoseconds, which the store truncates.
var baseNanos = base.Add(789 * time.Nanosecond)

// testStore is the conformance suite every dialect passes. open returns a
// fresh, empty store.
func testStore(t *testing.T, open func(t *testing.T) *sqlstore.DB) {
	tests := []struct {
		name string
		run  func(t *testing.T, db *sqlstore.DB)
	}{
		{"Institutions", testInstitutions},
		{"InstitutionValidation", testInstitutionValidation},
		{"Keys", testKeys},
		{"Certificates", testCertificates},
		{"SubmissionLifecycle", testSubmissionLifecycle},
		{"SubmissionValidation", testSubmissionValidation},
		{"ListSubmissions", testListSubmissions},
		{"UsedBytes", testUsedBytes},
		{"Mailbox", testMailbox},
		{"TenantWalls", testTenantWalls},
		{"ConcurrentCreate", testConcurrentCreate},
		{"ConcurrentMailbox", testConcurrentMailbox},
		{"LocalLeader", testLeaderSameHandle},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, open(t))
		})
	}
}

// wantCode fails the test unless err carries the given ronghe error code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := ronghe.ErrorCode(err); got != code {
		t.Fatalf("error code = %q, want %q (err: %v)", got, code, err)
	}
}

func ptr[T any](v T) *T { return &v }

func testInstitutions(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	insts := []*ronghe.Institution{
		{Code: "B1000000000001", Name: "中国工商银行股份有限公司广州分行", Kind: ronghe.KindBank, Suite: ronghe.SuiteGM, MaxFileBytes: 1 << 30, CreatedAt: baseNanos},
		{Code: "P1000000000002", Name: "某支付有限公司", Kind: ronghe.KindPayment, Suite: ronghe.SuiteINTL, Status: ronghe.StatusSuspended, QuotaBytes: 5 << 30, CreatedAt: base},
		{Code: "B1000000000003", Name: "Bank Three", Kind: ronghe.KindBank, Suite: ronghe.SuiteINTL},
	}
	for _, in := range insts {
		if err := db.CreateInstitution(ctx, in); err != nil {
			t.Fatalf("CreateInstitution(%s): %v", in.Code, err)
		}
	}
	if insts[0].Status != ronghe.StatusActive {
		t.Errorf("default status = %q, want active", insts[0].Status)
	}
	if insts[2].CreatedAt.IsZero() {
		t.Errorf("zero CreatedAt was not filled in")
	}
	got, err := db.FindInstitution(ctx, "B1000000000001")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, insts[0]) {
		t.Errorf("FindInstitution = %+v, want %+v", got, insts[0])
	}
	if want := base.UTC(); !got.CreatedAt.Equal(want) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v in UTC", got.CreatedAt, want)
	}

	dup := *insts[0]
	dup.Name = "other"
	wantCode(t, db.CreateInstitution(ctx, &dup), ronghe.ECONFLICT)

	_, err = db.FindInstitution(ctx, "B9999999999999")
	wantCode(t, err, ronghe.ENOTFOUND)

	for _, tc := range []struct {
		name  string
		f     ronghe.InstitutionFilter
		codes []string
	}{
		{"all", ronghe.InstitutionFilter{}, []string{"B1000000000001", "B1000000000003", "P1000000000002"}},
		{"banks", ronghe.InstitutionFilter{Kind: ronghe.KindBank}, []string{"B1000000000001", "B1000000000003"}},
		{"code", ronghe.InstitutionFilter{Code: "P1000000000002"}, []string{"P1000000000002"}},
		{"code and other kind", ronghe.InstitutionFilter{Code: "P1000000000002", Kind: ronghe.KindBank}, nil},
		{"operators", ronghe.InstitutionFilter{Kind: ronghe.KindOperator}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list, err := db.ListInstitutions(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var codes []string
			for _, in := range list {
				codes = append(codes, in.Code)
			}
			if !reflect.DeepEqual(codes, tc.codes) {
				t.Errorf("codes = %v, want %v", codes, tc.codes)
			}
		})
	}

	if err := db.UpdateInstitutionStatus(ctx, "B1000000000001", ronghe.StatusSuspended); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateInstitutionStatus(ctx, "B1000000000001", ronghe.StatusSuspended); err != nil {
		t.Fatalf("setting the same status again: %v", err)
	}
	if got, _ := db.FindInstitution(ctx, "B1000000000001"); got.Status != ronghe.StatusSuspended {
		t.Errorf("status = %q after suspension", got.Status)
	}
	wantCode(t, db.UpdateInstitutionStatus(ctx, "B1000000000001", "closed"), ronghe.EINVALID)
	wantCode(t, db.UpdateInstitutionStatus(ctx, "B9999999999999", ronghe.StatusActive), ronghe.ENOTFOUND)
}

func testInstitutionValidation(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	valid := func() *ronghe.Institution {
		return &ronghe.Institution{Code: "B1000000000001", Name: "Bank", Kind: ronghe.KindBank, Suite: ronghe.SuiteGM}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*ronghe.Institution)
		code   string
	}{
		{"empty code", func(in *ronghe.Institution) { in.Code = "" }, ronghe.EINVALID},
		{"code with space", func(in *ronghe.Institution) { in.Code = "B1 0" }, ronghe.EINVALID},
		{"no name", func(in *ronghe.Institution) { in.Name = " " }, ronghe.EINVALID},
		{"bad kind", func(in *ronghe.Institution) { in.Kind = "insurer" }, ronghe.EINVALID},
		{"bad suite", func(in *ronghe.Institution) { in.Suite = "RSA" }, ronghe.EUNSUPPORTED},
		{"bad status", func(in *ronghe.Institution) { in.Status = "closed" }, ronghe.EINVALID},
		{"negative quota", func(in *ronghe.Institution) { in.QuotaBytes = -1 }, ronghe.EINVALID},
		{"negative max file", func(in *ronghe.Institution) { in.MaxFileBytes = -1 }, ronghe.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := valid()
			tc.mutate(in)
			wantCode(t, db.CreateInstitution(ctx, in), tc.code)
		})
	}
	wantCode(t, db.CreateInstitution(ctx, nil), ronghe.EINVALID)
	if list, err := db.ListInstitutions(ctx, ronghe.InstitutionFilter{}); err != nil || len(list) != 0 {
		t.Errorf("invalid institutions were stored: %v, %v", list, err)
	}
}

func testKeys(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	k1 := &ronghe.Key{ID: "GM:aa01", Owner: "B1000000000001", Suite: ronghe.SuiteGM, PublicKeyPEM: "-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n", ValidFrom: base}
	k2 := &ronghe.Key{ID: "GM:aa02", Owner: "B1000000000001", Suite: ronghe.SuiteGM, PublicKeyPEM: "pem2", ValidFrom: base.Add(time.Hour)}
	other := &ronghe.Key{ID: "INTL:bb01", Owner: "91440101MA5CXXXX1X", Suite: ronghe.SuiteINTL, PublicKeyPEM: "pem3", ValidFrom: base}
	for _, k := range []*ronghe.Key{k2, k1, other} {
		if err := db.RegisterKey(ctx, k); err != nil {
			t.Fatalf("RegisterKey(%s): %v", k.ID, err)
		}
	}
	got, err := db.FindKey(ctx, k1.Owner, k1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, k1) {
		t.Errorf("FindKey = %+v, want %+v", got, k1)
	}
	// Another owner's key looks exactly like a missing one.
	_, errOther := db.FindKey(ctx, k1.Owner, other.ID)
	_, errMissing := db.FindKey(ctx, k1.Owner, "INTL:nope")
	wantCode(t, errOther, ronghe.ENOTFOUND)
	wantCode(t, errMissing, ronghe.ENOTFOUND)

	dup := *k1
	dup.Owner = "B1000000000002"
	wantCode(t, db.RegisterKey(ctx, &dup), ronghe.ECONFLICT)
	wantCode(t, db.RegisterKey(ctx, &ronghe.Key{ID: "x", Owner: "o", Suite: "RSA", PublicKeyPEM: "p"}), ronghe.EUNSUPPORTED)
	wantCode(t, db.RegisterKey(ctx, &ronghe.Key{ID: "x", Owner: "o", Suite: ronghe.SuiteGM}), ronghe.EINVALID)

	list, err := db.ListKeys(ctx, k1.Owner)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != k1.ID || list[1].ID != k2.ID {
		t.Fatalf("ListKeys = %+v, want k1, k2 oldest first", list)
	}

	revokedAt := base.Add(2 * time.Hour)
	wantCode(t, db.RevokeKey(ctx, other.Owner, k1.ID, revokedAt, "compromised"), ronghe.ENOTFOUND)
	if err := db.RevokeKey(ctx, k1.Owner, k1.ID, revokedAt, "compromised"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.RevokeKey(ctx, k1.Owner, k1.ID, revokedAt.Add(time.Hour), "again"), ronghe.ECONFLICT)
	wantCode(t, db.RevokeKey(ctx, k1.Owner, "GM:none", revokedAt, "x"), ronghe.ENOTFOUND)
	wantCode(t, db.RevokeKey(ctx, k1.Owner, k2.ID, revokedAt, ""), ronghe.EINVALID)

	got, err = db.FindKey(ctx, k1.Owner, k1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RevokedAt == nil || !got.RevokedAt.Equal(revokedAt) || got.RevokeReason != "compromised" {
		t.Fatalf("revoked key = %+v", got)
	}
	if !got.ValidAt(revokedAt.Add(-time.Second)) || got.ValidAt(revokedAt) {
		t.Errorf("ValidAt around the revocation is wrong")
	}
	if k, _ := db.FindKey(ctx, k2.Owner, k2.ID); k.RevokedAt != nil {
		t.Errorf("revoking k1 touched k2")
	}
}

func testCertificates(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	c := &ronghe.Certificate{Serial: "0A1B2C", Owner: "B1000000000001", NotBefore: base, NotAfter: base.AddDate(1, 0, 0), PEM: "-----BEGIN CERTIFICATE-----\n"}
	if err := db.AddCertificate(ctx, c); err != nil {
		t.Fatal(err)
	}
	if c.Serial != "0a1b2c" {
		t.Errorf("serial stored as %q, want lower case", c.Serial)
	}
	got, err := db.FindCertificate(ctx, "0A1B2C")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("FindCertificate = %+v, want %+v", got, c)
	}
	wantCode(t, db.AddCertificate(ctx, &ronghe.Certificate{Serial: "0a1b2c", Owner: "x", NotBefore: base, NotAfter: base.Add(time.Hour), PEM: "p"}), ronghe.ECONFLICT)
	wantCode(t, db.AddCertificate(ctx, &ronghe.Certificate{Serial: "zz", Owner: "x", NotBefore: base, NotAfter: base.Add(time.Hour), PEM: "p"}), ronghe.EINVALID)
	wantCode(t, db.AddCertificate(ctx, &ronghe.Certificate{Serial: "01", Owner: "x", NotBefore: base, NotAfter: base, PEM: "p"}), ronghe.EINVALID)
	_, err = db.FindCertificate(ctx, "ff")
	wantCode(t, err, ronghe.ENOTFOUND)

	at := base.Add(time.Hour)
	if err := db.RevokeCertificate(ctx, "0a1b2c", at); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.RevokeCertificate(ctx, "0a1b2c", at), ronghe.ECONFLICT)
	wantCode(t, db.RevokeCertificate(ctx, "ff", at), ronghe.ENOTFOUND)
	got, _ = db.FindCertificate(ctx, "0a1b2c")
	if got.RevokedAt == nil || !got.RevokedAt.Equal(at) {
		t.Errorf("RevokedAt = %v, want %v", got.RevokedAt, at)
	}
}

// newSubmission returns a valid new submission of tenant.
func newSubmission(tenant, id string, createdAt time.Time) *ronghe.Submission {
	return &ronghe.Submission{
		Tenant:         tenant,
		MessageID:      id,
		Manifest:       []byte(`{"manifest_version":"1","message_id":"` + id + `"}`),
		ManifestDigest: []byte{0x01, 0x02, 0x03},
		Signature:      []byte{0x30, 0x44, 0x00},
		KeyID:          "GM:aa01",
		CreatedAt:      createdAt,
		Files: []ronghe.SubmissionFile{
			{Name: "CTL.csv", Size: 120, Digest: "aa"},
			{Name: "ACCT.csv", Size: 4096, Digest: "bb"},
			{Name: "TXN.csv", Size: 1 << 20, Digest: "cc"},
		},
	}
}

func testSubmissionLifecycle(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	const tenant, id = "B1000000000001", "B1000000000001_20250331_1"
	in := newSubmission(tenant, id, base)
	s, created, err := db.CreateSubmission(ctx, in)
	if err != nil || !created {
		t.Fatalf("CreateSubmission = %v, %v", created, err)
	}
	if s.Status != ronghe.SubmissionUploading || !s.CreatedAt.Equal(base) {
		t.Errorf("created = %+v", s)
	}
	found, err := db.FindSubmission(ctx, tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(found, s) {
		t.Errorf("FindSubmission =\n%+v\nwant\n%+v", found, s)
	}

	// The same message ID again returns the stored submission, whatever the
	// new one holds.
	again := newSubmission(tenant, id, base.Add(time.Minute))
	again.ManifestDigest = []byte{0xff}
	again.Files = again.Files[:1]
	stored, created, err := db.CreateSubmission(ctx, again)
	if err != nil || created {
		t.Fatalf("second CreateSubmission = %v, %v", created, err)
	}
	if !reflect.DeepEqual(stored, s) {
		t.Errorf("second CreateSubmission returned %+v, want the stored %+v", stored, s)
	}

	// Upload IDs.
	if err := db.SetUploadID(ctx, tenant, id, "ACCT.csv", "up-1"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetUploadID(ctx, tenant, id, "ACCT.csv", "up-1"); err != nil {
		t.Fatalf("setting the same upload again: %v", err)
	}
	// A new upload replaces an unfinished one.
	if err := db.SetUploadID(ctx, tenant, id, "ACCT.csv", "up-2"); err != nil {
		t.Fatal(err)
	}
	if got, err := db.FindSubmission(ctx, tenant, id); err != nil || got.Files[0].UploadID != "up-2" && got.Files[1].UploadID != "up-2" {
		t.Fatalf("upload not replaced: %v", err)
	}
	if err := db.SetUploadID(ctx, tenant, id, "ACCT.csv", "up-1"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.SetUploadID(ctx, tenant, id, "TXN.csv", "up-1"), ronghe.ECONFLICT)
	wantCode(t, db.SetUploadID(ctx, tenant, id, "GL.csv", "up-3"), ronghe.ENOTFOUND)
	wantCode(t, db.SetUploadID(ctx, tenant, "nope", "ACCT.csv", "up-3"), ronghe.ENOTFOUND)
	wantCode(t, db.SetUploadID(ctx, tenant, id, "TXN.csv", ""), ronghe.EINVALID)

	// Completing files; accepting needs every file.
	if err := db.CompleteFile(ctx, tenant, id, "ACCT.csv", "blob/acct"); err != nil {
		t.Fatal(err)
	}
	if err := db.CompleteFile(ctx, tenant, id, "ACCT.csv", "blob/acct"); err != nil {
		t.Fatalf("completing again with the same blob: %v", err)
	}
	wantCode(t, db.CompleteFile(ctx, tenant, id, "ACCT.csv", "blob/other"), ronghe.ECONFLICT)
	wantCode(t, db.CompleteFile(ctx, tenant, id, "GL.csv", "blob/gl"), ronghe.ENOTFOUND)
	wantCode(t, db.CompleteFile(ctx, tenant, id, "TXN.csv", ""), ronghe.EINVALID)

	acceptedAt := base.Add(10 * time.Minute)
	receipt := []byte("signed receipt")
	wantCode(t, db.AcceptSubmission(ctx, tenant, id, acceptedAt, 7, receipt), ronghe.ECONFLICT)
	for _, f := range []string{"CTL.csv", "TXN.csv"} {
		if err := db.CompleteFile(ctx, tenant, id, f, "blob/"+f); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, db.AcceptSubmission(ctx, tenant, "nope", acceptedAt, 7, receipt), ronghe.ENOTFOUND)
	wantCode(t, db.AcceptSubmission(ctx, tenant, id, acceptedAt, 7, nil), ronghe.EINVALID)
	// OnAccept runs in the acceptance's transaction: its error undoes the
	// acceptance; what it writes commits with it.
	hooked := 0
	db.OnAccept(func(ctx context.Context, tx *sql.Tx, ht, hid string) error {
		if ht != tenant || hid != id {
			return nil
		}
		hooked++
		if hooked == 1 {
			return ronghe.Errorf(ronghe.EUNAVAILABLE, "enqueue failed")
		}
		_, err := tx.ExecContext(ctx, "SELECT 1")
		return err
	})
	wantCode(t, db.AcceptSubmission(ctx, tenant, id, acceptedAt, 7, receipt), ronghe.EUNAVAILABLE)
	if got, err := db.FindSubmission(ctx, tenant, id); err != nil || got.Status != ronghe.SubmissionUploading {
		t.Fatalf("after a failing OnAccept: %v", err)
	}
	if err := db.AcceptSubmission(ctx, tenant, id, acceptedAt, 7, receipt); err != nil {
		t.Fatal(err)
	}
	db.OnAccept(nil)
	if hooked != 2 {
		t.Fatalf("OnAccept ran %d times, want 2", hooked)
	}
	wantCode(t, db.AcceptSubmission(ctx, tenant, id, acceptedAt, 8, []byte("other")), ronghe.ECONFLICT)

	found, err = db.FindSubmission(ctx, tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	want := *s
	want.Status = ronghe.SubmissionAccepted
	want.AcceptedAt = ptr(acceptedAt.UTC())
	want.LogIndex = ptr(uint64(7))
	want.Receipt = receipt
	want.Files = []ronghe.SubmissionFile{
		{Name: "CTL.csv", Size: 120, Digest: "aa", BlobKey: "blob/CTL.csv", Done: true},
		{Name: "ACCT.csv", Size: 4096, Digest: "bb", UploadID: "up-1", BlobKey: "blob/acct", Done: true},
		{Name: "TXN.csv", Size: 1 << 20, Digest: "cc", BlobKey: "blob/TXN.csv", Done: true},
	}
	if !reflect.DeepEqual(found, &want) {
		t.Errorf("accepted submission =\n%+v\nwant\n%+v", found, &want)
	}
}

func testSubmissionValidation(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		mutate func(*ronghe.Submission)
		code   string
	}{
		{"no tenant", func(s *ronghe.Submission) { s.Tenant = "" }, ronghe.EINVALID},
		{"no message ID", func(s *ronghe.Submission) { s.MessageID = "" }, ronghe.EINVALID},
		{"no manifest", func(s *ronghe.Submission) { s.Manifest = nil }, ronghe.EINVALID},
		{"no digest", func(s *ronghe.Submission) { s.ManifestDigest = nil }, ronghe.EINVALID},
		{"unsigned", func(s *ronghe.Submission) { s.Signature = nil }, ronghe.EINVALID},
		{"no key", func(s *ronghe.Submission) { s.KeyID = "" }, ronghe.EINVALID},
		{"accepted status", func(s *ronghe.Submission) { s.Status = ronghe.SubmissionAccepted }, ronghe.EINVALID},
		{"has receipt", func(s *ronghe.Submission) { s.Receipt = []byte("r") }, ronghe.EINVALID},
		{"no files", func(s *ronghe.Submission) { s.Files = nil }, ronghe.EINVALID},
		{"file in directory", func(s *ronghe.Submission) { s.Files[0].Name = "../CTL.csv" }, ronghe.EINVALID},
		{"duplicate file", func(s *ronghe.Submission) { s.Files[1].Name = s.Files[0].Name }, ronghe.EINVALID},
		{"negative size", func(s *ronghe.Submission) { s.Files[0].Size = -1 }, ronghe.EINVALID},
		{"file without digest", func(s *ronghe.Submission) { s.Files[0].Digest = "" }, ronghe.EINVALID},
		{"file already done", func(s *ronghe.Submission) { s.Files[0].Done = true }, ronghe.EINVALID},
		{"size overflow", func(s *ronghe.Submission) { s.Files[0].Size = 1<<63 - 1 }, ronghe.ETOOLARGE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSubmission("B1000000000001", "M-"+strings.ReplaceAll(tc.name, " ", "-"), base)
			tc.mutate(s)
			_, _, err := db.CreateSubmission(ctx, s)
			wantCode(t, err, tc.code)
		})
	}
	if list, err := db.ListSubmissions(ctx, "B1000000000001", 0); err != nil || len(list) != 0 {
		t.Errorf("invalid submissions were stored: %d, %v", len(list), err)
	}
}

func testListSubmissions(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	const tenant = "B1000000000001"
	for i := range 5 {
		if _, _, err := db.CreateSubmission(ctx, newSubmission(tenant, fmt.Sprintf("%s_2025040%d_1", tenant, i+1), base.AddDate(0, 0, i))); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		limit int
		want  []string
	}{
		{0, []string{"B1000000000001_20250405_1", "B1000000000001_20250404_1", "B1000000000001_20250403_1", "B1000000000001_20250402_1", "B1000000000001_20250401_1"}},
		{2, []string{"B1000000000001_20250405_1", "B1000000000001_20250404_1"}},
		{100000, []string{"B1000000000001_20250405_1", "B1000000000001_20250404_1", "B1000000000001_20250403_1", "B1000000000001_20250402_1", "B1000000000001_20250401_1"}},
	} {
		list, err := db.ListSubmissions(ctx, tenant, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range list {
			ids = append(ids, s.MessageID)
			if len(s.Files) != 3 || s.Files[0].Name != "CTL.csv" || s.Files[2].Name != "TXN.csv" {
				t.Errorf("files of %s = %+v", s.MessageID, s.Files)
			}
		}
		if !reflect.DeepEqual(ids, tc.want) {
			t.Errorf("limit %d: ids = %v, want %v", tc.limit, ids, tc.want)
		}
	}
	_, err := db.ListSubmissions(ctx, tenant, -1)
	wantCode(t, err, ronghe.EINVALID)
}

func testUsedBytes(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	const tenant = "B1000000000001"
	perSubmission := int64(120 + 4096 + 1<<20)
	for i := range 3 {
		if _, _, err := db.CreateSubmission(ctx, newSubmission(tenant, fmt.Sprintf("m%d", i), base.Add(time.Duration(i)*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := db.CreateSubmission(ctx, newSubmission("B1000000000002", "m0", base)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		since time.Time
		want  int64
	}{
		{"all", base.Add(-time.Hour), 3 * perSubmission},
		{"inclusive at the first", base, 3 * perSubmission},
		{"a microsecond later", base.Add(time.Microsecond), 2 * perSubmission},
		{"a nanosecond later, truncated", base.Add(time.Nanosecond), 3 * perSubmission},
		{"last two, other zone", base.Add(time.Hour).In(time.UTC), 2 * perSubmission},
		{"none", base.Add(3 * time.Hour), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.UsedBytes(ctx, tenant, tc.since)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("UsedBytes = %d, want %d", got, tc.want)
			}
		})
	}

	// Whole minutes are summed per minute, the minute the window opens in
	// from its submissions: every since, on a minute or within one, against
	// the plain sum.
	const t3 = "B1000000000003"
	m0 := time.Date(2025, 3, 31, 10, 0, 0, 0, time.UTC)
	var at []time.Time
	for i, d := range []time.Duration{0, time.Microsecond, 20 * time.Second, time.Minute - time.Microsecond,
		time.Minute, time.Minute + 30*time.Second, 3 * time.Minute, 3*time.Minute + 59*time.Second} {
		at = append(at, m0.Add(d))
		if _, _, err := db.CreateSubmission(ctx, newSubmission(t3, fmt.Sprintf("u%d", i), m0.Add(d).In(shanghai))); err != nil {
			t.Fatal(err)
		}
	}
	for _, since := range []time.Duration{-time.Minute, 0, time.Microsecond, 10 * time.Second, 20 * time.Second,
		time.Minute - time.Microsecond, time.Minute, 2 * time.Minute, 3*time.Minute + 59*time.Second, 4 * time.Minute} {
		var want int64
		for _, a := range at {
			if !a.Before(m0.Add(since)) {
				want += perSubmission
			}
		}
		if got, err := db.UsedBytes(ctx, t3, m0.Add(since)); err != nil || got != want {
			t.Errorf("UsedBytes since +%v = %d, %v; want %d", since, got, err, want)
		}
	}
}

// newMessage returns a valid mailbox message.
func newMessage(tenant, id string, at time.Time) *ronghe.MailboxMessage {
	return &ronghe.MailboxMessage{
		ID: id, Tenant: tenant, Kind: "quality.report", Subject: "Quality report " + id,
		RefersTo: "B1000000000001_20250331_1", ContentType: "application/json",
		Body: []byte(`{"findings":[]}`), Digest: []byte{0xde, 0xad}, Envelope: []byte("envelope"),
		CreatedAt: at, LogIndex: ptr(uint64(42)),
	}
}

func testMailbox(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	const tenant = "B1000000000001"
	// Creation times deliberately out of order: listing follows insertion.
	ids := []string{"msg-c", "msg-a", "msg-b", "msg-e", "msg-d"}
	for i, id := range ids {
		m := newMessage(tenant, id, base.Add(-time.Duration(i)*time.Minute))
		if i == 1 {
			m.Body = nil
			m.RefersTo = ""
			m.LogIndex = nil
		}
		if err := db.PutMailbox(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, db.PutMailbox(ctx, newMessage(tenant, "msg-a", base)), ronghe.ECONFLICT)
	wantCode(t, db.PutMailbox(ctx, newMessage("B1000000000002", "msg-a", base)), ronghe.ECONFLICT)
	wantCode(t, db.PutMailbox(ctx, &ronghe.MailboxMessage{ID: "x", Tenant: tenant, Kind: "k", ContentType: "c"}), ronghe.EINVALID)

	got, err := db.FindMailbox(ctx, tenant, "msg-c")
	if err != nil {
		t.Fatal(err)
	}
	want := newMessage(tenant, "msg-c", base)
	want.CreatedAt = base.UTC()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FindMailbox =\n%+v\nwant\n%+v", got, want)
	}
	if got, _ := db.FindMailbox(ctx, tenant, "msg-a"); got.Body != nil || got.LogIndex != nil || got.RefersTo != "" {
		t.Errorf("optional fields came back as %+v", got)
	}

	ackAt := base.Add(time.Hour)
	if err := db.AckMailbox(ctx, tenant, "msg-a", ackAt, "GM:aa01", []byte("ack-sig"), 99); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.AckMailbox(ctx, tenant, "msg-a", ackAt, "GM:aa01", []byte("ack-sig"), 100), ronghe.ECONFLICT)
	wantCode(t, db.AckMailbox(ctx, tenant, "msg-zz", ackAt, "GM:aa01", []byte("ack-sig"), 100), ronghe.ENOTFOUND)
	wantCode(t, db.AckMailbox(ctx, tenant, "msg-b", ackAt, "", []byte("ack-sig"), 100), ronghe.EINVALID)
	if err := db.AckMailbox(ctx, tenant, "msg-e", ackAt, "GM:aa01", []byte("ack-sig-e"), 100); err != nil {
		t.Fatal(err)
	}
	acked, _ := db.FindMailbox(ctx, tenant, "msg-a")
	if acked.AckedAt == nil || !acked.AckedAt.Equal(ackAt) || acked.AckKeyID != "GM:aa01" ||
		!bytes.Equal(acked.AckSignature, []byte("ack-sig")) || acked.AckLogIndex == nil || *acked.AckLogIndex != 99 {
		t.Errorf("acknowledged message = %+v", acked)
	}

	for _, tc := range []struct {
		name string
		f    ronghe.MailboxFilter
		want []string
	}{
		{"all", ronghe.MailboxFilter{}, ids},
		{"limit", ronghe.MailboxFilter{Limit: 2}, []string{"msg-c", "msg-a"}},
		{"after", ronghe.MailboxFilter{After: "msg-a"}, []string{"msg-b", "msg-e", "msg-d"}},
		{"after and limit", ronghe.MailboxFilter{After: "msg-a", Limit: 1}, []string{"msg-b"}},
		{"after the last", ronghe.MailboxFilter{After: "msg-d"}, nil},
		{"unacked", ronghe.MailboxFilter{Unacked: true}, []string{"msg-c", "msg-b", "msg-d"}},
		{"unacked after", ronghe.MailboxFilter{Unacked: true, After: "msg-a"}, []string{"msg-b", "msg-d"}},
		{"unacked after acked", ronghe.MailboxFilter{Unacked: true, After: "msg-e", Limit: 5}, []string{"msg-d"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list, err := db.ListMailbox(ctx, tenant, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range list {
				got = append(got, m.ID)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ids = %v, want %v", got, tc.want)
			}
		})
	}
	_, err = db.ListMailbox(ctx, tenant, ronghe.MailboxFilter{After: "msg-unknown"})
	wantCode(t, err, ronghe.ENOTFOUND)
	_, err = db.ListMailbox(ctx, tenant, ronghe.MailboxFilter{Limit: -1})
	wantCode(t, err, ronghe.EINVALID)
}

// testTenantWalls checks that tenant B cannot see or change anything of
// tenant A's, and gets the same answers for A's objects as for objects that
// do not exist.
func testTenantWalls(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	const a, b = "A0000000000001", "B0000000000002"
	const id, msgID = "A0000000000001_20250331_1", "mbox-a-1"
	if _, _, err := db.CreateSubmission(ctx, newSubmission(a, id, base)); err != nil {
		t.Fatal(err)
	}
	if err := db.PutMailbox(ctx, newMessage(a, msgID, base)); err != nil {
		t.Fatal(err)
	}
	// B has objects of its own, so an empty result is not just an empty store.
	if _, _, err := db.CreateSubmission(ctx, newSubmission(b, "own", base)); err != nil {
		t.Fatal(err)
	}
	if err := db.PutMailbox(ctx, newMessage(b, "mbox-b-1", base)); err != nil {
		t.Fatal(err)
	}

	// Each probe runs against A's object and against a missing one; both
	// must fail with ENOTFOUND and the same text once the ID is substituted.
	probes := []struct {
		name string
		call func(id string) error
	}{
		{"FindSubmission", func(x string) error { _, err := db.FindSubmission(ctx, b, x); return err }},
		{"SetUploadID", func(x string) error { return db.SetUploadID(ctx, b, x, "CTL.csv", "up-b") }},
		{"CompleteFile", func(x string) error { return db.CompleteFile(ctx, b, x, "CTL.csv", "blob-b") }},
		{"AcceptSubmission", func(x string) error { return db.AcceptSubmission(ctx, b, x, base, 1, []byte("r")) }},
	}
	mailProbes := []struct {
		name string
		call func(id string) error
	}{
		{"FindMailbox", func(x string) error { _, err := db.FindMailbox(ctx, b, x); return err }},
		{"AckMailbox", func(x string) error { return db.AckMailbox(ctx, b, x, base, "k", []byte("s"), 1) }},
		{"ListMailboxAfter", func(x string) error { _, err := db.ListMailbox(ctx, b, ronghe.MailboxFilter{After: x}); return err }},
	}
	check := func(t *testing.T, call func(string) error, existing, missing string) {
		errA := call(existing)
		errM := call(missing)
		wantCode(t, errA, ronghe.ENOTFOUND)
		wantCode(t, errM, ronghe.ENOTFOUND)
		textA := ronghe.ErrorMessage(errA)
		textM := ronghe.ErrorMessage(errM)
		if want := replaceID(textM, missing, existing); textA != want {
			t.Errorf("messages differ: %q for A's object, %q for a missing one", textA, textM)
		}
	}
	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) { check(t, p.call, id, "A0000000000001_20250331_9") })
	}
	for _, p := range mailProbes {
		t.Run(p.name, func(t *testing.T) { check(t, p.call, msgID, "mbox-a-9") })
	}

	list, err := db.ListSubmissions(ctx, b, 0)
	if err != nil || len(list) != 1 || list[0].MessageID != "own" {
		t.Errorf("B's submissions = %v, %v; want only its own", list, err)
	}
	box, err := db.ListMailbox(ctx, b, ronghe.MailboxFilter{})
	if err != nil || len(box) != 1 || box[0].ID != "mbox-b-1" {
		t.Errorf("B's mailbox = %v, %v; want only its own", box, err)
	}
	if used, err := db.UsedBytes(ctx, b, base.Add(-time.Hour)); err != nil || used != 120+4096+1<<20 {
		t.Errorf("B's used bytes = %d, %v; A's must not count", used, err)
	}
	// Creating B's submission with A's message ID is B's own, new submission.
	s, created, err := db.CreateSubmission(ctx, newSubmission(b, id, base))
	if err != nil || !created || s.Tenant != b {
		t.Errorf("B creating A's message ID: %v, %v, %v", s, created, err)
	}

	// A's objects are untouched.
	sa, err := db.FindSubmission(ctx, a, id)
	if err != nil {
		t.Fatal(err)
	}
	if sa.Status != ronghe.SubmissionUploading || sa.Files[0].UploadID != "" || sa.Files[0].Done {
		t.Errorf("A's submission changed: %+v", sa)
	}
	ma, err := db.FindMailbox(ctx, a, msgID)
	if err != nil {
		t.Fatal(err)
	}
	if ma.AckedAt != nil {
		t.Errorf("A's message was acknowledged by B")
	}
}

// replaceID substitutes one ID for another in an error text.
func replaceID(text, from, to string) string {
	return strings.ReplaceAll(text, from, to)
}

// testConcurrentCreate races 32 goroutines creating one submission: exactly
// one creates it and every other gets the winner's row.
func testConcurrentCreate(t *testing.T, db *sqlstore.DB) {
	raceCreate(t, []*sqlstore.DB{db}, 32)
}

// raceCreate has n goroutines, spread over dbs, create the same submission
// with different manifest digests.
func raceCreate(t *testing.T, dbs []*sqlstore.DB, n int) {
	t.Helper()
	ctx := context.Background()
	const tenant, id = "B1000000000001", "B1000000000001_20250331_1"
	type result struct {
		s       *ronghe.Submission
		created bool
		err     error
	}
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s := newSubmission(tenant, id, base)
			s.ManifestDigest = []byte{byte(i)}
			<-start
			r, created, err := dbs[i%len(dbs)].CreateSubmission(ctx, s)
			results[i] = result{r, created, err}
		})
	}
	close(start)
	wg.Wait()
	winners := 0
	var winner []byte
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("goroutine %d: %v", i, r.err)
		}
		if r.created {
			winners++
			winner = r.s.ManifestDigest
		}
	}
	if winners != 1 {
		t.Fatalf("%d goroutines created the submission, want exactly 1", winners)
	}
	for i, r := range results {
		if !bytes.Equal(r.s.ManifestDigest, winner) || len(r.s.Files) != 3 {
			t.Errorf("goroutine %d got digest %x with %d files, want the winner's %x with 3", i, r.s.ManifestDigest, len(r.s.Files), winner)
		}
	}
}

// testConcurrentMailbox puts messages from many goroutines and checks that
// the mailbox lists each once, and that paging with After sees them all.
func testConcurrentMailbox(t *testing.T, db *sqlstore.DB) {
	raceMailbox(t, []*sqlstore.DB{db}, 32)
}

// raceMailbox has n goroutines, spread over dbs, put messages into one
// mailbox while a reader pages through it; no message may be skipped.
func raceMailbox(t *testing.T, dbs []*sqlstore.DB, n int) {
	t.Helper()
	ctx := context.Background()
	const tenant = "B1000000000001"
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- dbs[i%len(dbs)].PutMailbox(ctx, newMessage(tenant, fmt.Sprintf("m-%02d", i), base))
		})
	}
	// Page through while writers run: every message must be seen exactly
	// once, in one increasing order, even if commits interleave.
	seen := map[string]bool{}
	after := ""
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		page, err := dbs[0].ListMailbox(ctx, tenant, ronghe.MailboxFilter{After: after, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page {
			if seen[m.ID] {
				t.Fatalf("message %s listed twice", m.ID)
			}
			seen[m.ID] = true
			after = m.ID
		}
		if finished && len(page) == 0 {
			break
		}
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) != n {
		t.Errorf("paging saw %d messages, want %d", len(seen), n)
	}
	all, err := dbs[0].ListMailbox(ctx, tenant, ronghe.MailboxFilter{})
	if err != nil || len(all) != n {
		t.Fatalf("ListMailbox = %d messages, %v; want %d", len(all), err, n)
	}
}

// testLeaderSameHandle checks the lease within one handle: the second taker
// of a name is refused until the first releases.
func testLeaderSameHandle(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	release, ok, err := db.TryLeader(ctx, "scheduler")
	if err != nil || !ok {
		t.Fatalf("first TryLeader = %v, %v", ok, err)
	}
	if _, ok, err := db.TryLeader(ctx, "scheduler"); err != nil || ok {
		t.Fatalf("second TryLeader = %v, %v; want refused", ok, err)
	}
	other, ok, err := db.TryLeader(ctx, "compactor")
	if err != nil || !ok {
		t.Fatalf("TryLeader of another name = %v, %v", ok, err)
	}
	other()
	release()
	release() // idempotent
	again, ok, err := db.TryLeader(ctx, "scheduler")
	if err != nil || !ok {
		t.Fatalf("TryLeader after release = %v, %v", ok, err)
	}
	again()
	_, _, err = db.TryLeader(ctx, "")
	wantCode(t, err, ronghe.EINVALID)
}

// TestReopen checks that data survives closing the store and that opening
// an up-to-date database applies no migration again.
func TestReopen(t *testing.T) {
	for _, tc := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return sqltest.SQLite(t) }},
		{"postgres", func(t *testing.T) string { return sqltest.Postgres(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := tc.dsn(t)
			db, err := sqlstore.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			if db.Dialect() != tc.name {
				t.Errorf("Dialect = %q, want %q", db.Dialect(), tc.name)
			}
			if err := db.PutMailbox(ctx, newMessage("B1000000000001", "m1", base)); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = openDSN(t, dsn)
			if _, err := db.FindMailbox(ctx, "B1000000000001", "m1"); err != nil {
				t.Fatalf("after reopening: %v", err)
			}
			var n int
			if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if want := sqlstore.MigrationCount(); n != want {
				t.Errorf("schema_migrations has %d rows, want %d", n, want)
			}
			// The sequence continues after reopening.
			if err := db.PutMailbox(ctx, newMessage("B1000000000001", "m0", base)); err != nil {
				t.Fatal(err)
			}
			list, _ := db.ListMailbox(ctx, "B1000000000001", ronghe.MailboxFilter{})
			if len(list) != 2 || list[0].ID != "m1" || list[1].ID != "m0" {
				t.Errorf("mailbox after reopening = %v", list)
			}
		})
	}
}

func TestOpenRejects(t *testing.T) {
	for _, dsn := range []string{"", "sqlite:", ":memory:", "sqlite::memory:", "file:x.db?mode=memory"} {
		t.Run(dsn, func(t *testing.T) {
			db, err := sqlstore.Open(context.Background(), dsn)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%q) succeeded", dsn)
			}
			wantCode(t, err, ronghe.EINVALID)
		})
	}
}

func TestOpenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := sqlstore.Open(ctx, sqltest.SQLite(t))
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with a cancelled context = %v, want context.Canceled in the chain", err)
	}
	wantCode(t, err, ronghe.EUNAVAILABLE)
}
