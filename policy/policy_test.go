package policy

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/sqlstore/sqltest"
	"github.com/ronghe/ronghe/suite"
	"github.com/ronghe/ronghe/tlog"
)

const (
	entA  = "91350100M000100Y43"
	entB  = "91110000600037341L"
	bankX = "B1000000000001"
	bankY = "B1000000000002"
)

type fixture struct {
	svc   *Service
	db    *sqlstore.DB
	log   *tlog.Log
	keyA  suite.Signer
	keyB  suite.Signer
	clock time.Time
}

func newFixture(t *testing.T, dsn string) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	_, edKey, _ := ed25519.GenerateKey(nil)
	smKey, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	lg, err := tlog.Open(ctx, tlog.Config{Dir: filepath.Join(t.TempDir(), "log"), Origin: "ronghe.test/log", Ed25519: edKey, SM2: smKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lg.Close() })
	f := &fixture{db: db, log: lg, clock: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	for _, code := range []string{bankX, bankY} {
		if err := db.CreateInstitution(ctx, &ronghe.Institution{Code: code, Name: "银行" + code, Kind: ronghe.KindBank, Suite: ronghe.SuiteGM, Status: ronghe.StatusActive}); err != nil {
			t.Fatal(err)
		}
	}
	reg := func(uscc string, s ronghe.Suite) suite.Signer {
		if err := db.CreateEnterprise(ctx, &ronghe.Enterprise{USCC: uscc, Name: "企业" + uscc, Suite: s, Status: ronghe.StatusActive}); err != nil {
			t.Fatal(err)
		}
		k, err := suite.GenerateKey(s)
		if err != nil {
			t.Fatal(err)
		}
		pemBytes, _ := k.PublicKey().MarshalPEM()
		if err := db.RegisterKey(ctx, &ronghe.Key{ID: k.PublicKey().Fingerprint(), Owner: uscc, Suite: s, PublicKeyPEM: string(pemBytes), ValidFrom: f.clock.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		return k
	}
	f.keyA, f.keyB = reg(entA, ronghe.SuiteGM), reg(entB, ronghe.SuiteINTL)
	f.svc = New(Config{Store: db, Keys: db, Institutions: db, Log: lg, Now: func() time.Time { return f.clock }})
	return f
}

func (f *fixture) authDoc(t *testing.T, key suite.Signer, d AuthorizationDoc) []byte {
	t.Helper()
	d.Type = TypeAuthorization
	if d.SignedAt.IsZero() {
		d.SignedAt = f.clock
	}
	if d.Nonce == "" {
		d.Nonce = "n1"
	}
	doc, err := evidence.Sign(d, key)
	if err != nil {
		t.Fatal(err)
	}
	return doc.Marshal()
}

func (f *fixture) validDoc(ent, grantee string) AuthorizationDoc {
	return AuthorizationDoc{Enterprise: ent, Grantee: grantee, Purpose: ronghe.PurposeLoanApplication,
		Scope: []string{ronghe.ScopeFlowReport}, NotBefore: f.clock, NotAfter: f.clock.AddDate(0, 6, 0)}
}

func testPolicy(t *testing.T, dsn func(t testing.TB) string) {
	ctx := context.Background()
	f := newFixture(t, dsn(t))

	// Before any authorization, a query is refused — and recorded.
	q := Query{Institution: bankX, Enterprise: entA, AuthorizationID: "AU000000000000000000000000", Purpose: ronghe.PurposeLoanApplication, Scope: ronghe.ScopeFlowReport}
	_, _, err := f.svc.Authorize(ctx, q)
	if ronghe.ErrorCode(err) != ronghe.EFORBIDDEN || ronghe.ErrorMessage(err) != refusal {
		t.Fatalf("unauthorized query: %v", err)
	}

	a, err := f.svc.Register(ctx, entA, f.authDoc(t, f.keyA, f.validDoc(entA, bankX)))
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.svc.Register(ctx, entA, f.authDoc(t, f.keyA, f.validDoc(entA, bankX)))
	if err != nil || again.ID != a.ID {
		t.Fatalf("re-registering the same document: %v %v", again, err)
	}
	q.AuthorizationID = a.ID
	calls := 0
	rec, got, err := f.svc.AuthorizeThen(ctx, q, func() { calls++ })
	if err != nil || !rec.Granted || got.ID != a.ID || calls != 1 {
		t.Fatalf("authorized query refused (granted called %d times): %v", calls, err)
	}

	// Every way of not matching gets the same refusal, and a record.
	refusals := []Query{
		{Institution: bankY, Enterprise: entA, AuthorizationID: a.ID, Purpose: ronghe.PurposeLoanApplication, Scope: ronghe.ScopeFlowReport}, // another bank
		{Institution: bankX, Enterprise: entB, AuthorizationID: a.ID, Purpose: ronghe.PurposeLoanApplication, Scope: ronghe.ScopeFlowReport}, // another enterprise
		{Institution: bankX, Enterprise: entA, AuthorizationID: a.ID, Purpose: ronghe.PurposePostLoan, Scope: ronghe.ScopeFlowReport},        // purpose binding
		{Institution: bankX, Enterprise: entA, AuthorizationID: a.ID, Purpose: ronghe.PurposeLoanApplication, Scope: "DETAIL_ROWS"},          // scope
		{Institution: bankX, Enterprise: "91440300MA5FXXXX0X", AuthorizationID: a.ID, Purpose: ronghe.PurposeLoanApplication, Scope: ronghe.ScopeFlowReport},
	}
	for i, rq := range refusals {
		_, _, err := f.svc.AuthorizeThen(ctx, rq, func() { t.Errorf("refusal %d: granted called", i) })
		if i == len(refusals)-1 {
			if ronghe.ErrorCode(err) != ronghe.EINVALID {
				t.Errorf("malformed USCC: %v", err)
			}
			continue
		}
		if ronghe.ErrorCode(err) != ronghe.EFORBIDDEN || ronghe.ErrorMessage(err) != refusal {
			t.Errorf("refusal %d: %v", i, err)
		}
	}
	// Expired: the clock passes not_after.
	f.clock = f.clock.AddDate(0, 7, 0)
	if _, _, err := f.svc.Authorize(ctx, q); ronghe.ErrorCode(err) != ronghe.EFORBIDDEN {
		t.Errorf("expired authorization granted: %v", err)
	}
	f.clock = f.clock.AddDate(0, -7, 0)

	// Revocation: signed by the enterprise, logged, and final.
	rev, _ := evidence.Sign(RevocationDoc{Type: TypeRevocation, Enterprise: entA, AuthorizationID: a.ID, SignedAt: f.clock}, f.keyA)
	// Another enterprise cannot revoke it.
	revB, _ := evidence.Sign(RevocationDoc{Type: TypeRevocation, Enterprise: entB, AuthorizationID: a.ID, SignedAt: f.clock}, f.keyB)
	if _, err := f.svc.Revoke(ctx, entB, revB.Marshal()); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
		t.Errorf("revocation by another enterprise: %v", err)
	}
	f.clock = f.clock.Add(time.Minute)
	revoked, err := f.svc.Revoke(ctx, entA, rev.Marshal())
	if err != nil || revoked.RevokedAt == nil || revoked.RevokeLogIndex == nil {
		t.Fatalf("revoke: %+v %v", revoked, err)
	}
	f.clock = f.clock.Add(time.Minute)
	if _, _, err := f.svc.Authorize(ctx, q); ronghe.ErrorCode(err) != ronghe.EFORBIDDEN {
		t.Errorf("revoked authorization granted: %v", err)
	}

	// The enterprise sees every query about it: 1 refused before, 1 granted,
	// 3 refused mismatches about A (the others were about B or malformed),
	// 1 expired, 1 revoked.
	recs, err := f.svc.QueryRecords(ctx, entA, 0)
	if err != nil {
		t.Fatal(err)
	}
	granted := 0
	for _, r := range recs {
		if r.Granted {
			granted++
		}
		if r.Enterprise != entA {
			t.Errorf("record about %s listed for %s", r.Enterprise, entA)
		}
	}
	if len(recs) != 7 || granted != 1 {
		t.Errorf("%d records (%d granted), want 7 (1 granted)", len(recs), granted)
	}
	// Every record is in the log (once a checkpoint covers the newest).
	var last uint64
	for _, r := range recs {
		last = max(last, r.LogIndex)
	}
	if _, _, err := f.log.AwaitCheckpoint(ctx, last); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		leaf, err := f.log.Leaf(ctx, r.LogIndex)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := tlog.ParseLeaf(leaf)
		if err != nil || ev.Kind != tlog.KindQueryRecorded || ev.MessageID != r.ID || ev.Tenant != entA {
			t.Errorf("log entry %d: %+v %v", r.LogIndex, ev, err)
		}
	}
}

func TestRegisterRefusals(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sqltest.SQLite(t))
	long := f.validDoc(entA, bankX)
	long.NotAfter = f.clock.AddDate(0, 12, 1)
	purpose := f.validDoc(entA, bankX)
	purpose.Purpose = "MARKETING"
	other := f.validDoc(entB, bankX)
	unknownBank := f.validDoc(entA, "B9999999999999")
	expired := f.validDoc(entA, bankX)
	expired.NotBefore, expired.NotAfter = f.clock.AddDate(0, -3, 0), f.clock.AddDate(0, 0, -1)
	cases := []struct {
		name string
		ent  string
		raw  []byte
		code string
	}{
		{"over 12 months", entA, f.authDoc(t, f.keyA, long), ronghe.EINVALID},
		{"unknown purpose", entA, f.authDoc(t, f.keyA, purpose), ronghe.EINVALID},
		{"for another enterprise", entA, f.authDoc(t, f.keyA, other), ronghe.EFORBIDDEN},
		{"unknown grantee", entA, f.authDoc(t, f.keyA, unknownBank), ronghe.EINVALID},
		{"already expired", entA, f.authDoc(t, f.keyA, expired), ronghe.EINVALID},
		{"signed by another enterprise's key", entA, f.authDoc(t, f.keyB, f.validDoc(entA, bankX)), ronghe.EINTEGRITY},
		{"unknown enterprise", "91440300MA5FXXXXXX", f.authDoc(t, f.keyA, f.validDoc(entA, bankX)), ronghe.ENOTFOUND},
		{"garbage", entA, []byte(`{"payload":"","signatures":[]}`), ronghe.EINVALID},
	}
	for _, c := range cases {
		if _, err := f.svc.Register(ctx, c.ent, c.raw); ronghe.ErrorCode(err) != c.code {
			t.Errorf("%s: got %v, want %s", c.name, err, c.code)
		}
	}
	// A tampered payload fails the signature.
	raw := f.authDoc(t, f.keyA, f.validDoc(entA, bankX))
	doc, _ := evidence.Parse(raw)
	doc.Payload = []byte(string(doc.Payload[:len(doc.Payload)-1]) + " }")
	if _, err := f.svc.Register(ctx, entA, doc.Marshal()); ronghe.ErrorCode(err) != ronghe.EINTEGRITY {
		t.Errorf("tampered payload: %v", err)
	}
	if list, _ := f.svc.Authorizations(ctx, entA); len(list) != 0 {
		t.Errorf("refused documents were stored: %d", len(list))
	}
}

func TestPolicySQLite(t *testing.T)   { testPolicy(t, sqltest.SQLite) }
func TestPolicyPostgres(t *testing.T) { testPolicy(t, sqltest.Postgres) }

// Query record IDs sort in the order of their times (so that records stored
// together share the ID index's last page) and never repeat.
func TestQueryIDOrder(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	prev := ""
	for i := range 1000 {
		at := t0.Add(time.Duration(i/10) * time.Millisecond) // ten IDs a millisecond
		id, err := newQueryID(at)
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != 34 || id[:2] != "QR" {
			t.Fatalf("id %q: want QR and 32 hex digits", id)
		}
		if seen[id] {
			t.Fatalf("id %q made twice", id)
		}
		seen[id] = true
		if i%10 == 0 && id <= prev {
			t.Fatalf("id %q of a later millisecond sorts before %q", id, prev)
		}
		prev = id
	}
}
