package tlog

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestQuiesceWaitsForTesseraJob holds a classic fcntl record lock on one of
// Tessera's lock files, as its publisher does while writing a checkpoint, and
// checks that quiesce returns only after that lock is dropped — even though
// both locks are taken by this one process.
func TestQuiesceWaitsForTesseraJob(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, ".state"), 0o755); err != nil {
		t.Fatal(err)
	}
	job, err := os.OpenFile(filepath.Join(dir, ".state", "publish.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	lk := syscall.Flock_t{Type: syscall.F_WRLCK}
	if err := syscall.FcntlFlock(job.Fd(), syscall.F_SETLKW, &lk); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- quiesce(dir) }()
	select {
	case err := <-done:
		t.Fatalf("quiesce returned (%v) while a job held publish.lock", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := job.Close(); err != nil { // as Tessera's unlock does
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("quiesce: %v", err)
	}
}

// TestCloseLeavesDirectoryAlone checks that once Close returns nothing of the
// log's writes directory any more: it can be removed at once, as a test's
// TempDir cleanup or an operator's restore does.
func TestCloseLeavesDirectoryAlone(t *testing.T) {
	k := newTestKeys(t)
	for i := range 20 {
		dir := filepath.Join(t.TempDir(), "log")
		l, err := Open(context.Background(), k.config(dir))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.AppendEvent(context.Background(), testEvent(i)); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Fatalf("round %d: remove after Close: %v", i, err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("round %d: %s reappeared after Close (stat: %v)", i, dir, err)
		}
	}
}
