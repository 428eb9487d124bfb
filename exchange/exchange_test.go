package exchange_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/exchange"
	"github.com/ronghe/ronghe/exchange/upload"
	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/suite"
	"github.com/ronghe/ronghe/tlog"
)

func TestSubmitIdempotent(t *testing.T) {
	forBackends(t, func(t *testing.T, f *fixture) {
		b := f.newBank(t, ronghe.SuiteGM, nil)
		files := someFiles("idem")
		m := b.manifestStruct(1, files)
		raw, sig := b.signed(t, m)
		first, err := f.svc.Submit(f.ctx, b.code, raw, sig)
		if err != nil {
			t.Fatal(err)
		}
		if first.Status != ronghe.SubmissionUploading || len(first.Files) != 2 || !bytes.Equal(first.Manifest, raw) {
			t.Fatalf("new submission = %+v", first)
		}
		again, err := f.svc.Submit(f.ctx, b.code, raw, sig)
		if err != nil {
			t.Fatalf("replay: %v", err)
		}
		if !again.CreatedAt.Equal(first.CreatedAt) || !bytes.Equal(again.ManifestDigest, first.ManifestDigest) {
			t.Fatalf("replay returned another submission: %+v", again)
		}

		// Another manifest under the same message ID: a later creation time,
		// or other content.
		other := b.manifestStruct(1, files)
		other.CreatedAt = other.CreatedAt.Add(time.Second)
		oraw, osig := b.signed(t, other)
		_, err = f.svc.Submit(f.ctx, b.code, oraw, osig)
		wantCode(t, err, ronghe.ECONFLICT)
		changed := b.manifestStruct(1, someFiles("changed"))
		craw, csig := b.signed(t, changed)
		_, err = f.svc.Submit(f.ctx, b.code, craw, csig)
		wantCode(t, err, ronghe.ECONFLICT)
		stored, err := f.svc.Submission(f.ctx, b.code, m.MessageID)
		if err != nil || !bytes.Equal(stored.Manifest, raw) {
			t.Fatalf("stored manifest changed by a conflicting submit: %v", err)
		}

		// After acceptance the replay returns the receipt, and logs nothing.
		acc := f.uploadAll(t, b, m.MessageID, files)
		mk := f.mark(t)
		replay, err := f.svc.Submit(f.ctx, b.code, raw, sig)
		if err != nil {
			t.Fatal(err)
		}
		if replay.Status != ronghe.SubmissionAccepted || !bytes.Equal(replay.Receipt, acc.Receipt) || *replay.LogIndex != *acc.LogIndex {
			t.Fatalf("replay after acceptance = %+v", replay)
		}
		if n := f.loggedSince(t, mk); n != 0 {
			t.Fatalf("replay logged %d entries", n)
		}
	})
}

func TestSubmitRefusals(t *testing.T) {
	forBackends(t, func(t *testing.T, f *fixture) {
		gm := f.newBank(t, ronghe.SuiteGM, nil)
		intl := f.newBank(t, ronghe.SuiteINTL, nil)
		small := f.newBank(t, ronghe.SuiteGM, func(i *ronghe.Institution) { i.MaxFileBytes = 1000 })
		suspended := f.newBank(t, ronghe.SuiteGM, func(i *ronghe.Institution) { i.Status = ronghe.StatusSuspended })

		revoked := f.newBank(t, ronghe.SuiteGM, nil)
		if err := f.db.RevokeKey(f.ctx, revoked.code, revoked.signer.PublicKey().Fingerprint(), time.Now().Add(-time.Second), "compromised"); err != nil {
			t.Fatal(err)
		}
		future := f.newBank(t, ronghe.SuiteINTL, nil)
		future.signer = f.registerKey(t, future.code, ronghe.SuiteINTL, time.Now().Add(time.Hour))

		files := someFiles("refusals")
		type attempt struct {
			tenant        string
			manifest, sig []byte
		}
		by := func(b *bank, tenant string, mod func(*ronghe.Manifest)) attempt {
			m := b.manifestStruct(1, files)
			if mod != nil {
				mod(m)
			}
			raw, sig := b.signed(t, m)
			return attempt{tenant, raw, sig}
		}
		stranger, err := suite.GenerateKey(ronghe.SuiteGM)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			a    attempt
			code string
		}{
			{"revoked key", by(revoked, revoked.code, nil), ronghe.EEXPIRED},
			{"key not yet valid", by(future, future.code, nil), ronghe.EEXPIRED},
			{"unknown key", func() attempt {
				b := *gm
				b.signer = stranger
				return by(&b, gm.code, nil)
			}(), ronghe.EINTEGRITY},
			{"another institution's key", by(gm, gm.code, func(m *ronghe.Manifest) { m.KeyID = revoked.signer.PublicKey().Fingerprint() }), ronghe.EINTEGRITY},
			{"bad signature", func() attempt {
				a := by(gm, gm.code, nil)
				a.sig = bytes.Clone(a.sig)
				a.sig[len(a.sig)-1] ^= 1
				return a
			}(), ronghe.EINTEGRITY},
			{"signature over other bytes", func() attempt {
				a := by(gm, gm.code, nil)
				a.manifest = append(bytes.Clone(a.manifest), ' ')
				return a
			}(), ronghe.EINTEGRITY},
			{"wrong sender", by(gm, intl.code, nil), ronghe.EFORBIDDEN},
			{"suite mismatch", func() attempt {
				b := *gm
				b.suite = ronghe.SuiteINTL // SHA-256 digests under a GM institution
				return by(&b, gm.code, nil)
			}(), ronghe.EINVALID},
			{"suspended institution", by(suspended, suspended.code, nil), ronghe.EFORBIDDEN},
			{"oversize file", by(small, small.code, nil), ronghe.ETOOLARGE},
			{"malformed manifest", attempt{gm.code, []byte(`{"manifest_version":"1"`), []byte("x")}, ronghe.EINVALID},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.svc.Submit(f.ctx, tc.a.tenant, tc.a.manifest, tc.a.sig)
				wantCode(t, err, tc.code)
				var m ronghe.Manifest
				if json.Unmarshal(tc.a.manifest, &m) == nil && m.MessageID != "" {
					_, err := f.svc.Submission(f.ctx, tc.a.tenant, m.MessageID)
					wantCode(t, err, ronghe.ENOTFOUND)
				}
			})
		}
		// None of the refusals reserved quota.
		for _, b := range []*bank{gm, intl, small, suspended, revoked, future} {
			if used, err := f.db.UsedBytes(f.ctx, b.code, time.Now().Add(-time.Hour)); err != nil || used != 0 {
				t.Fatalf("%s has %d bytes reserved after refusals (%v)", b.code, used, err)
			}
		}
	})
}

func TestQuota(t *testing.T) {
	forBackends(t, func(t *testing.T, f *fixture) {
		files := someFiles("quota")
		size := int64(len(files["TXN.csv"]) + len(files["ACCT.csv"]))
		b := f.newBank(t, ronghe.SuiteINTL, func(i *ronghe.Institution) { i.QuotaBytes = size*2 + size/2 })
		first := f.submit(t, b, 1, files)
		f.submit(t, b, 2, files)
		raw, sig := b.signed(t, b.manifestStruct(3, files))
		_, err := f.svc.Submit(f.ctx, b.code, raw, sig)
		wantCode(t, err, ronghe.ETOOLARGE)
		if _, err := f.svc.Submission(f.ctx, b.code, b.manifestStruct(3, files).MessageID); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
			t.Fatalf("refused submission was stored: %v", err)
		}
		// A replay of a stored message is not refused by the quota it counts against.
		raw1, sig1 := b.signed(t, b.manifestStruct(1, files))
		if again, err := f.svc.Submit(f.ctx, b.code, raw1, sig1); err != nil || !again.CreatedAt.Equal(first.CreatedAt) {
			t.Fatalf("replay under a full quota = %v", err)
		}
		// The quota is over a rolling day.
		f.advance(25 * time.Hour)
		if _, err := f.svc.Submit(f.ctx, b.code, raw, sig); err != nil {
			t.Fatalf("a day later: %v", err)
		}
	})
}

func TestDigestMismatchDiscardsUpload(t *testing.T) {
	forBackends(t, func(t *testing.T, f *fixture) {
		b := f.newBank(t, ronghe.SuiteGM, nil)
		files := someFiles("mismatch")
		sub := f.submit(t, b, 1, files)
		wrong := bytes.Clone(files["TXN.csv"])
		wrong[len(wrong)/2] ^= 0x20 // same size, other bytes
		mk := f.mark(t)
		id := f.startUpload(t, b, sub.MessageID, "TXN.csv", wrong)
		_, err := f.svc.FileUploaded(f.ctx, b.code, id)
		wantCode(t, err, ronghe.EINTEGRITY)
		if _, err := f.uploads.Completed(upload.WithTenant(f.ctx, b.code), id); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
			t.Fatalf("the mismatching upload was kept: %v", err)
		}
		key := exchange.BlobKey(b.code, sub.MessageID, "TXN.csv")
		if ok, err := f.blobs.Exists(f.ctx, key); err != nil || ok {
			t.Fatalf("blob of a mismatching file stored: %v %v", ok, err)
		}
		st, err := f.svc.Submission(f.ctx, b.code, sub.MessageID)
		if err != nil {
			t.Fatal(err)
		}
		for _, fl := range st.Files {
			if fl.Done || fl.BlobKey != "" {
				t.Fatalf("file %s marked done after a mismatch", fl.Name)
			}
		}
		// A shorter file is refused the same way.
		id = f.startUpload(t, b, sub.MessageID, "TXN.csv", files["TXN.csv"][:100])
		_, err = f.svc.FileUploaded(f.ctx, b.code, id)
		wantCode(t, err, ronghe.EINTEGRITY)
		if n := f.loggedSince(t, mk); n != 0 {
			t.Fatalf("a refused file logged %d entries", n)
		}

		// The sender uploads the right bytes and finishes.
		acc := f.uploadAll(t, b, sub.MessageID, files)
		if acc.Status != ronghe.SubmissionAccepted {
			t.Fatalf("status = %s", acc.Status)
		}
		if got := f.blobContent(t, key); !bytes.Equal(got, files["TXN.csv"]) {
			t.Fatal("stored blob is not the signed file")
		}
		if _, err := f.verifier(t).Receipt(mustParse(t, acc.Receipt)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestUploadOfAnotherTenant(t *testing.T) {
	forBackends(t, func(t *testing.T, f *fixture) {
		a := f.newBank(t, ronghe.SuiteGM, nil)
		other := f.newBank(t, ronghe.SuiteGM, nil)
		files := someFiles("tenant")
		sub := f.submit(t, a, 1, files)
		id := f.startUpload(t, a, sub.MessageID, "TXN.csv", files["TXN.csv"])
		_, err := f.svc.FileUploaded(f.ctx, other.code, id)
		wantCode(t, err, ronghe.ENOTFOUND)
		_, err = f.svc.Submission(f.ctx, other.code, sub.MessageID)
		wantCode(t, err, ronghe.ENOTFOUND)
		_, err = f.svc.Finalize(f.ctx, other.code, sub.MessageID)
		wantCode(t, err, ronghe.ENOTFOUND)
		// The owner's upload is untouched by the foreign attempt.
		if _, err := f.svc.FileUploaded(f.ctx, a.code, id); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFinalizeOnceUnderConcurrency(t *testing.T) {
	forBackends(t, func(t *testing.T, f *fixture) {
		b := f.newBank(t, ronghe.SuiteINTL, nil)
		files := someFiles("race")
		sub := f.submit(t, b, 1, files)
		// The files arrive, but nobody has finalised yet (as after a crash
		// between the last byte and the bookkeeping).
		for _, n := range files.names() {
			f.startUpload(t, b, sub.MessageID, n, files[n])
		}
		mk := f.mark(t)
		const callers = 16
		results := make([]*ronghe.Submission, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range callers {
			wg.Go(func() {
				<-start
				results[i], errs[i] = f.svc.Finalize(f.ctx, b.code, sub.MessageID)
			})
		}
		close(start)
		wg.Wait()
		for i := range callers {
			if errs[i] != nil {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
			if results[i].Status != ronghe.SubmissionAccepted || !bytes.Equal(results[i].Receipt, results[0].Receipt) {
				t.Fatalf("caller %d got another outcome: %s", i, results[i].Status)
			}
		}
		if n := f.loggedSince(t, mk); n != 1 {
			t.Fatalf("%d log entries for one acceptance, want 1", n)
		}
		r, err := f.verifier(t).Receipt(mustParse(t, results[0].Receipt))
		if err != nil {
			t.Fatal(err)
		}
		if r.LogIndex != mk+1 || r.MessageID != sub.MessageID {
			t.Fatalf("receipt at log index %d for %s, want %d", r.LogIndex, r.MessageID, mk+1)
		}
	})
}

func TestFinalizeAcrossReplicas(t *testing.T) {
	forBackends(t, func(t *testing.T, f *fixture) {
		b := f.newBank(t, ronghe.SuiteGM, nil)
		files := someFiles("replicas")
		sub := f.submit(t, b, 1, files)
		for _, n := range files.names() {
			f.startUpload(t, b, sub.MessageID, n, files[n])
		}
		replicas := []*exchange.Service{f.svc, f.newService()}
		mk := f.mark(t)
		var wg sync.WaitGroup
		results := make([]*ronghe.Submission, 8)
		errs := make([]error, len(results))
		for i := range results {
			wg.Go(func() { results[i], errs[i] = replicas[i%2].Finalize(f.ctx, b.code, sub.MessageID) })
		}
		wg.Wait()
		for i := range results {
			if errs[i] != nil {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
			if !bytes.Equal(results[i].Receipt, results[0].Receipt) {
				t.Fatalf("replicas handed out different receipts")
			}
		}
		if _, err := f.verifier(t).Receipt(mustParse(t, results[0].Receipt)); err != nil {
			t.Fatal(err)
		}
		// Replicas share PostgreSQL and its advisory lock; SQLite is a
		// single-process store, where only the in-process lock applies.
		if f.db.Dialect() == sqlstore.DialectPostgres {
			if n := f.loggedSince(t, mk); n != 1 {
				t.Fatalf("two replicas logged %d acceptances, want 1", n)
			}
		}
	})
}

func TestFinalizeRecoversInterruptedFiles(t *testing.T) {
	forBackends(t, func(t *testing.T, f *fixture) {
		b := f.newBank(t, ronghe.SuiteGM, nil)
		files := someFiles("recover")
		sub := f.submit(t, b, 1, files)
		// TXN.csv: promoted into the blob store, but the server stopped
		// before recording it. ACCT.csv: complete, never checked.
		txn := f.startUpload(t, b, sub.MessageID, "TXN.csv", files["TXN.csv"])
		key := exchange.BlobKey(b.code, sub.MessageID, "TXN.csv")
		if err := f.adapter.Promote(f.ctx, b.code, txn, key); err != nil {
			t.Fatal(err)
		}
		f.startUpload(t, b, sub.MessageID, "ACCT.csv", files["ACCT.csv"])
		acc, err := f.svc.Finalize(f.ctx, b.code, sub.MessageID)
		if err != nil {
			t.Fatal(err)
		}
		if acc.Status != ronghe.SubmissionAccepted {
			t.Fatalf("status = %s", acc.Status)
		}
		for _, fl := range acc.Files {
			if !fl.Done || !bytes.Equal(f.blobContent(t, fl.BlobKey), files[fl.Name]) {
				t.Fatalf("file %s not recovered", fl.Name)
			}
		}
	})
}

func TestFinalizeWithMissingFiles(t *testing.T) {
	forBackends(t, func(t *testing.T, f *fixture) {
		b := f.newBank(t, ronghe.SuiteGM, nil)
		files := someFiles("missing")
		sub := f.submit(t, b, 1, files)
		// One file arrived, the other is half uploaded.
		id := f.startUpload(t, b, sub.MessageID, "ACCT.csv", files["ACCT.csv"])
		if _, err := f.svc.FileUploaded(f.ctx, b.code, id); err != nil {
			t.Fatal(err)
		}
		txn := files["TXN.csv"]
		f.startUploadSized(t, b, sub.MessageID, "TXN.csv", int64(len(txn)), txn[:len(txn)/2])
		mk := f.mark(t)
		got, err := f.svc.Finalize(f.ctx, b.code, sub.MessageID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != ronghe.SubmissionUploading || got.Receipt != nil {
			t.Fatalf("finalised with a file missing: %+v", got)
		}
		if n := f.loggedSince(t, mk); n != 0 {
			t.Fatalf("logged %d entries for an incomplete submission", n)
		}
		_, err = f.svc.Evidence(f.ctx, b.code, sub.MessageID)
		wantCode(t, err, ronghe.ENOTFOUND)
	})
}

func mustParse(t *testing.T, b []byte) *evidence.Signed {
	t.Helper()
	d, err := evidence.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestEvidenceBundle(t *testing.T) {
	forBackends(t, func(t *testing.T, f *fixture) {
		b := f.newBank(t, ronghe.SuiteGM, nil)
		other := f.newBank(t, ronghe.SuiteINTL, nil)
		files := someFiles("evidence")
		acc := f.accepted(t, b, 1, files)
		// The key is rotated afterwards: the bundle still carries the key as
		// registered, and still verifies.
		if err := f.db.RevokeKey(f.ctx, b.code, b.signer.PublicKey().Fingerprint(), time.Now(), "rotated"); err != nil {
			t.Fatal(err)
		}
		bundle, err := f.svc.Evidence(f.ctx, b.code, acc.MessageID)
		if err != nil {
			t.Fatal(err)
		}
		v := f.verifier(t)
		r, err := v.Bundle(bundle)
		if err != nil {
			t.Fatalf("Bundle = %v", err)
		}
		if r.MessageID != acc.MessageID || r.Sender != b.code || r.LogIndex != *acc.LogIndex {
			t.Fatalf("receipt = %+v", r)
		}
		// Through JSON, as it is served and kept.
		var kept evidence.Bundle
		if err := json.Unmarshal(marshal(t, bundle), &kept); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Bundle(&kept); err != nil {
			t.Fatalf("bundle after JSON: %v", err)
		}
		tamper := func(mod func(*evidence.Bundle)) error {
			var c evidence.Bundle
			if err := json.Unmarshal(marshal(t, bundle), &c); err != nil {
				t.Fatal(err)
			}
			mod(&c)
			_, err := v.Bundle(&c)
			return err
		}
		if err := tamper(func(c *evidence.Bundle) {
			c.Manifest = bytes.Replace(c.Manifest, []byte(`"batch_seq":1`), []byte(`"batch_seq":2`), 1)
		}); ronghe.ErrorCode(err) != ronghe.EINTEGRITY {
			t.Fatalf("changed manifest: %v", err)
		}
		if err := tamper(func(c *evidence.Bundle) { c.ManifestSignature[0] ^= 1 }); ronghe.ErrorCode(err) != ronghe.EINTEGRITY {
			t.Fatalf("changed signature: %v", err)
		}
		if err := tamper(func(c *evidence.Bundle) {
			p, _ := other.signer.PublicKey().MarshalPEM()
			c.SenderKey.PublicKeyPEM = string(p)
		}); ronghe.ErrorCode(err) != ronghe.EINTEGRITY {
			t.Fatalf("other sender key: %v", err)
		}
		_, err = f.svc.Evidence(f.ctx, other.code, acc.MessageID)
		wantCode(t, err, ronghe.ENOTFOUND)
	})
}

func TestMailbox(t *testing.T) {
	forBackends(t, func(t *testing.T, f *fixture) {
		b := f.newBank(t, ronghe.SuiteGM, nil)
		other := f.newBank(t, ronghe.SuiteGM, nil)
		intl := f.newBank(t, ronghe.SuiteINTL, nil)
		mk := f.mark(t)
		body := []byte(`{"accepted":3}`)
		msg, err := f.svc.Deliver(f.ctx, b.code, "exchange.summary", "3 batches accepted", "", "application/json", body)
		if err != nil {
			t.Fatal(err)
		}
		if n := f.loggedSince(t, mk); n != 1 {
			t.Fatalf("delivery logged %d entries", n)
		}
		if msg.LogIndex == nil || *msg.LogIndex != mk+1 {
			t.Fatalf("delivery log index = %v, want %d", msg.LogIndex, mk+1)
		}
		v := f.verifier(t)
		fetched, err := f.svc.MailboxMessage(f.ctx, b.code, msg.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Mailbox(fetched, b.code, b.suite); err != nil {
			t.Fatalf("envelope does not verify: %v", err)
		}
		if _, err := v.Mailbox(fetched, other.code, b.suite); ronghe.ErrorCode(err) != ronghe.EINTEGRITY {
			t.Fatalf("envelope verified for another recipient: %v", err)
		}
		_, err = f.svc.MailboxMessage(f.ctx, other.code, msg.ID)
		wantCode(t, err, ronghe.ENOTFOUND)
		if list, err := f.svc.Mailbox(f.ctx, other.code, ronghe.MailboxFilter{}); err != nil || len(list) != 0 {
			t.Fatalf("another tenant sees %d messages (%v)", len(list), err)
		}

		ack := func(signer suite.Signer, s ronghe.Suite, mod func(*evidence.Ack)) []byte {
			a := evidence.Ack{Type: evidence.TypeAck, MessageID: msg.ID, Digest: suite.Digest(s, fetched.Envelope), Party: b.code, At: time.Now().UTC()}
			if mod != nil {
				mod(&a)
			}
			d, err := evidence.Sign(a, signer)
			if err != nil {
				t.Fatal(err)
			}
			return d.Marshal()
		}
		revokedKey := f.registerKey(t, b.code, ronghe.SuiteGM, time.Now().Add(-time.Hour))
		if err := f.db.RevokeKey(f.ctx, b.code, revokedKey.PublicKey().Fingerprint(), time.Now().Add(-time.Minute), "lost"); err != nil {
			t.Fatal(err)
		}
		twoSigs := func() []byte {
			a := evidence.Ack{Type: evidence.TypeAck, MessageID: msg.ID, Digest: suite.Digest(b.suite, fetched.Envelope), Party: b.code}
			d, err := evidence.Sign(a, b.signer, other.signer)
			if err != nil {
				t.Fatal(err)
			}
			return d.Marshal()
		}
		mk = f.mark(t)
		for _, tc := range []struct {
			name   string
			tenant string
			ack    []byte
			code   string
		}{
			{"signed by another institution's key", b.code, ack(other.signer, b.suite, nil), ronghe.EINTEGRITY},
			{"signed by a revoked key", b.code, ack(revokedKey, b.suite, nil), ronghe.EEXPIRED},
			{"wrong envelope digest", b.code, ack(b.signer, b.suite, func(a *evidence.Ack) { a.Digest = suite.Digest(b.suite, body) }), ronghe.EINTEGRITY},
			{"digest of the other suite", b.code, ack(b.signer, ronghe.SuiteINTL, nil), ronghe.EINTEGRITY},
			{"other message", b.code, ack(b.signer, b.suite, func(a *evidence.Ack) { a.MessageID = "MB00000000000000" }), ronghe.EINTEGRITY},
			{"other party", b.code, ack(b.signer, b.suite, func(a *evidence.Ack) { a.Party = other.code }), ronghe.EINTEGRITY},
			{"wrong type", b.code, ack(b.signer, b.suite, func(a *evidence.Ack) { a.Type = evidence.TypeReceipt }), ronghe.EINTEGRITY},
			{"two signatures", b.code, twoSigs(), ronghe.EINVALID},
			{"not a signed document", b.code, []byte(`{"type":"ronghe.ack/v1"}`), ronghe.EINVALID},
			{"another tenant acknowledging", other.code, ack(other.signer, other.suite, func(a *evidence.Ack) { a.Party = other.code }), ronghe.ENOTFOUND},
			{"an INTL key of another tenant", b.code, ack(intl.signer, b.suite, nil), ronghe.EINTEGRITY},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.svc.Acknowledge(f.ctx, tc.tenant, msg.ID, tc.ack)
				wantCode(t, err, tc.code)
			})
		}
		if n := f.loggedSince(t, mk); n != 0 {
			t.Fatalf("forged acknowledgments logged %d entries", n)
		}
		if m, _ := f.svc.MailboxMessage(f.ctx, b.code, msg.ID); m.AckedAt != nil {
			t.Fatal("a forged acknowledgment was recorded")
		}

		mk = f.mark(t)
		good := ack(b.signer, b.suite, nil)
		acked, err := f.svc.Acknowledge(f.ctx, b.code, msg.ID, good)
		if err != nil {
			t.Fatal(err)
		}
		if acked.AckedAt == nil || acked.AckKeyID != b.signer.PublicKey().Fingerprint() || !bytes.Equal(acked.AckSignature, good) ||
			acked.AckLogIndex == nil || *acked.AckLogIndex != mk+1 {
			t.Fatalf("acknowledged message = %+v", acked)
		}
		// Acknowledging again changes nothing and logs nothing.
		again, err := f.svc.Acknowledge(f.ctx, b.code, msg.ID, ack(b.signer, b.suite, nil))
		if err != nil {
			t.Fatal(err)
		}
		if !again.AckedAt.Equal(*acked.AckedAt) || !bytes.Equal(again.AckSignature, good) {
			t.Fatal("a second acknowledgment replaced the first")
		}
		if n := f.loggedSince(t, mk); n != 1 {
			t.Fatalf("acknowledging twice logged %d entries, want 1", n)
		}
		// The logged leaf commits to the exact acknowledgment bytes.
		leaf := tlog.Event{Kind: tlog.KindMessageAcknowledged, Tenant: b.code, MessageID: msg.ID, Digest: suite.Digest(b.suite, good), Time: *acked.AckedAt}.Leaf()
		if stored, err := f.log.Leaf(f.ctx, *acked.AckLogIndex); err == nil && !bytes.Equal(stored, leaf) {
			t.Fatalf("logged leaf %q, want %q", stored, leaf)
		}
		if list, err := f.svc.Mailbox(f.ctx, b.code, ronghe.MailboxFilter{Unacked: true}); err != nil || len(list) != 0 {
			t.Fatalf("unacked listing after the ack: %d (%v)", len(list), err)
		}
		_, err = f.svc.Deliver(f.ctx, "Z0000000000000", "x", "x", "", "text/plain", nil)
		wantCode(t, err, ronghe.ENOTFOUND)
		if strings.Contains(msg.ID, "/") {
			t.Fatal("message IDs must be path-safe")
		}
	})
}

// TestResentAfterUnrecordedPromotion: the server promoted a checked file
// and stopped before recording it; the sender, seeing its upload gone, sends
// the file again. The second upload is redundant, not a conflict.
func TestResentAfterUnrecordedPromotion(t *testing.T) {
	forBackends(t, func(t *testing.T, f *fixture) {
		b := f.newBank(t, ronghe.SuiteINTL, nil)
		files := someFiles("resent")
		sub := f.submit(t, b, 1, files)
		first := f.startUpload(t, b, sub.MessageID, "TXN.csv", files["TXN.csv"])
		key := exchange.BlobKey(b.code, sub.MessageID, "TXN.csv")
		if err := f.adapter.Promote(f.ctx, b.code, first, key); err != nil {
			t.Fatal(err)
		}
		second := f.startUpload(t, b, sub.MessageID, "TXN.csv", files["TXN.csv"])
		got, err := f.svc.FileUploaded(f.ctx, b.code, second)
		if err != nil {
			t.Fatalf("FileUploaded of the resent file: %v", err)
		}
		if got.Status != ronghe.SubmissionUploading || !got.Files[1].Done {
			t.Fatalf("after the resent file: %+v", got.Files)
		}
		if _, err := f.uploads.Completed(upload.WithTenant(f.ctx, b.code), second); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
			t.Fatalf("the redundant upload was kept: %v", err)
		}
		acc := f.uploadAll(t, b, sub.MessageID, batchFiles{"ACCT.csv": files["ACCT.csv"]})
		if acc.Status != ronghe.SubmissionAccepted || !bytes.Equal(f.blobContent(t, key), files["TXN.csv"]) {
			t.Fatalf("status %s", acc.Status)
		}
	})
}
