package exchange_test

import (
	"bytes"
	"io"
	"sync"
	"testing"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/exchange"
	"github.com/ronghe/ronghe/sqlstore"
)

// TestSubmitWithFiles sends whole batches in one call, concurrently and to
// two replicas: one acceptance, one log entry, one receipt, the files stored
// as sent, and the returned submission equal to the stored one.
func TestSubmitWithFiles(t *testing.T) {
	forBackends(t, func(t *testing.T, f *fixture) {
		b := f.newBank(t, ronghe.SuiteGM, nil)
		files := batchFiles{"TXN.csv": []byte("txn,1\n"), "ACCT.csv": []byte("acct,1\n")}
		m := b.manifestStruct(1, files)
		raw, sig := b.signed(t, m)
		replicas := []*exchange.Service{f.svc, f.newService()}
		if f.db.Dialect() != sqlstore.DialectPostgres {
			// SQLite is a single-process store: one replica.
			replicas = replicas[:1]
		}
		mk := f.mark(t)
		const callers = 8
		results := make([]*ronghe.Submission, callers)
		created := make([]bool, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range callers {
			wg.Go(func() {
				<-start
				results[i], created[i], errs[i] = replicas[i%len(replicas)].SubmitWithFiles(f.ctx, b.code, raw, sig, files)
			})
		}
		close(start)
		wg.Wait()
		nCreated := 0
		for i := range callers {
			if errs[i] != nil {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
			if results[i].Status != ronghe.SubmissionAccepted || !bytes.Equal(results[i].Receipt, results[0].Receipt) {
				t.Fatalf("caller %d got another outcome: %s", i, results[i].Status)
			}
			if created[i] {
				nCreated++
			}
		}
		if nCreated != 1 {
			t.Fatalf("%d callers registered the manifest, want 1", nCreated)
		}
		if n := f.loggedSince(t, mk); n != 1 {
			t.Fatalf("%d log entries for one acceptance, want 1", n)
		}
		if _, err := f.verifier(t).Receipt(mustParse(t, results[0].Receipt)); err != nil {
			t.Fatal(err)
		}
		stored, err := f.svc.Submission(f.ctx, b.code, m.MessageID)
		if err != nil {
			t.Fatal(err)
		}
		got := results[0]
		if stored.Status != got.Status || *stored.LogIndex != *got.LogIndex || !stored.AcceptedAt.Equal(*got.AcceptedAt) ||
			!bytes.Equal(stored.Receipt, got.Receipt) || len(stored.Files) != len(got.Files) {
			t.Fatalf("returned %+v, stored %+v", got, stored)
		}
		for _, sf := range stored.Files {
			if !sf.Done || sf.BlobKey != exchange.BlobKey(b.code, m.MessageID, sf.Name) {
				t.Fatalf("stored file %+v", sf)
			}
			rc, err := f.blobs.Get(f.ctx, sf.BlobKey)
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(data, files[sf.Name]) {
				t.Fatalf("blob of %s: %q, %v", sf.Name, data, err)
			}
		}
	})
}

// TestSubmitWithFilesRefusals: nothing is stored or logged unless the
// signature and every file check out, and a replay neither stores nor logs.
func TestSubmitWithFilesRefusals(t *testing.T) {
	forBackends(t, func(t *testing.T, f *fixture) {
		b := f.newBank(t, ronghe.SuiteINTL, nil)
		files := batchFiles{"TXN.csv": []byte("txn,2\n")}
		m := b.manifestStruct(1, files)
		raw, sig := b.signed(t, m)
		mk := f.mark(t)
		bad := bytes.Clone(sig)
		bad[3] ^= 1
		_, _, err := f.svc.SubmitWithFiles(f.ctx, b.code, raw, bad, files)
		wantCode(t, err, ronghe.EINTEGRITY)
		_, _, err = f.svc.SubmitWithFiles(f.ctx, b.code, raw, sig, batchFiles{"TXN.csv": []byte("txn,3\n")})
		wantCode(t, err, ronghe.EINTEGRITY)
		_, _, err = f.svc.SubmitWithFiles(f.ctx, b.code, raw, sig, batchFiles{})
		wantCode(t, err, ronghe.EINVALID)
		_, _, err = f.svc.SubmitWithFiles(f.ctx, b.code, raw, sig, batchFiles{"TXN.csv": files["TXN.csv"], "CTL.csv": nil})
		wantCode(t, err, ronghe.EINVALID)
		other := f.newBank(t, ronghe.SuiteINTL, nil)
		_, _, err = f.svc.SubmitWithFiles(f.ctx, other.code, raw, sig, files)
		wantCode(t, err, ronghe.EFORBIDDEN)
		if _, err := f.svc.Submission(f.ctx, b.code, m.MessageID); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
			t.Fatalf("stored after refusals: %v", err)
		}
		if ok, err := f.blobs.Exists(f.ctx, exchange.BlobKey(b.code, m.MessageID, "TXN.csv")); err != nil || ok {
			t.Fatalf("blob after refusals: %v %v", ok, err)
		}
		if n := f.loggedSince(t, mk); n != 0 {
			t.Fatalf("refusals logged %d entries", n)
		}
		first, created, err := f.svc.SubmitWithFiles(f.ctx, b.code, raw, sig, files)
		if err != nil || !created || first.Status != ronghe.SubmissionAccepted {
			t.Fatalf("first: %v", err)
		}
		mk = f.mark(t)
		again, created, err := f.svc.SubmitWithFiles(f.ctx, b.code, raw, sig, files)
		if err != nil || created || !bytes.Equal(again.Receipt, first.Receipt) {
			t.Fatalf("replay: %v", err)
		}
		// The manifest path's replay gives the same receipt too.
		if s, err := f.svc.Submit(f.ctx, b.code, raw, sig); err != nil || !bytes.Equal(s.Receipt, first.Receipt) {
			t.Fatalf("Submit replay: %v", err)
		}
		changed := b.manifestStruct(1, batchFiles{"TXN.csv": []byte("txn,4\n")})
		craw, csig := b.signed(t, changed)
		_, _, err = f.svc.SubmitWithFiles(f.ctx, b.code, craw, csig, batchFiles{"TXN.csv": []byte("txn,4\n")})
		wantCode(t, err, ronghe.ECONFLICT)
		if n := f.loggedSince(t, mk); n != 0 {
			t.Fatalf("replays logged %d entries", n)
		}
	})
}

// TestCompleteAfterStoredFiles: SubmitWithFiles records its files with the
// acceptance; cut short after storing them (the log unavailable, a crash),
// Finalize — the sender's complete — finds them and accepts.
func TestCompleteAfterStoredFiles(t *testing.T) {
	forBackends(t, func(t *testing.T, f *fixture) {
		b := f.newBank(t, ronghe.SuiteGM, nil)
		files := batchFiles{"TXN.csv": []byte("txn,5\n"), "CTL.csv": []byte("ctl,5\n")}
		sub := f.submit(t, b, 1, files)
		// As SubmitWithFiles leaves it when cut short before the acceptance:
		// the manifest registered, the files stored, nothing recorded.
		for _, n := range files.names() {
			if _, err := f.blobs.Put(f.ctx, exchange.BlobKey(b.code, sub.MessageID, n), bytes.NewReader(files[n]), b.suite); err != nil {
				t.Fatal(err)
			}
		}
		got, err := f.svc.Finalize(f.ctx, b.code, sub.MessageID)
		if err != nil || got.Status != ronghe.SubmissionAccepted {
			t.Fatalf("Finalize: %v", err)
		}
		// Sending the batch again gives the same receipt.
		raw, sig := b.signed(t, b.manifestStruct(1, files))
		again, created, err := f.svc.SubmitWithFiles(f.ctx, b.code, raw, sig, files)
		if err != nil || created || !bytes.Equal(again.Receipt, got.Receipt) {
			t.Fatalf("SubmitWithFiles after: %v", err)
		}
	})
}
