package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/envelope"
	"github.com/ronghe/ronghe/exchange/upload"
)

// syncBuffer is a log sink safe to read while the sweep writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestUploadSweepScheduled runs the sweep the way serve does, with a clock a
// week ahead and a short interval: the upload left before the clock's
// cutoff is removed and logged, the one started after it is kept, and stop
// ends the loop.
func TestUploadSweepScheduled(t *testing.T) {
	dir := t.TempDir()
	kek, err := envelope.LoadOrCreateLocalKEK(filepath.Join(dir, "kek.key"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := upload.New(upload.Config{Dir: filepath.Join(dir, "uploads"), KEK: kek, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := upload.WithTenant(context.Background(), "B1234401000018")
	begin := func() string {
		t.Helper()
		u, err := store.NewUpload(ctx, handler.FileInfo{Size: 1000, Storage: map[string]string{upload.MetaSuite: string(ronghe.SuiteGM)}, MetaData: handler.MetaData{}})
		if err != nil {
			t.Fatal(err)
		}
		info, err := u.GetInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.ID
	}
	exists := func(id string) bool {
		_, err := os.Stat(filepath.Join(store.Dir(), id+".info"))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		return err == nil
	}

	stale := begin()
	time.Sleep(20 * time.Millisecond)
	cutoff := time.Now()
	time.Sleep(20 * time.Millisecond)
	fresh := begin()

	ttl := 7 * 24 * time.Hour
	now := func() time.Time { return cutoff.Add(ttl) } // a week after the cutoff
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	stop := startUploadSweep(context.Background(), store, uploadSweepFlags{ttl: ttl, interval: 10 * time.Millisecond}, now, logger)
	deadline := time.Now().Add(10 * time.Second)
	for exists(stale) {
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("the stale upload was not swept; logs:\n%s", logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // a few more sweeps
	stop()
	if !exists(fresh) {
		t.Fatal("the fresh upload was swept")
	}
	if _, err := store.GetUpload(ctx, stale); err == nil {
		t.Fatal("the stale upload is still served")
	}
	if out := logs.String(); !strings.Contains(out, "upload sweep removed abandoned uploads") || !strings.Contains(out, "removed=1") {
		t.Errorf("the removal was not logged:\n%s", out)
	}
	// stop waited for the loop: nothing is logged after it.
	n := len(logs.String())
	time.Sleep(30 * time.Millisecond)
	if len(logs.String()) != n {
		t.Error("the sweep ran after stop")
	}
}

// TestUploadSweepDisabled checks that a negative interval turns the sweep off.
func TestUploadSweepDisabled(t *testing.T) {
	dir := t.TempDir()
	kek, err := envelope.LoadOrCreateLocalKEK(filepath.Join(dir, "kek.key"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := upload.New(upload.Config{Dir: filepath.Join(dir, "uploads"), KEK: kek})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	stop := startUploadSweep(context.Background(), store, uploadSweepFlags{interval: -1}, time.Now, slog.New(slog.NewTextHandler(&logs, nil)))
	stop()
	if !strings.Contains(logs.String(), "upload sweep disabled") {
		t.Errorf("logs: %s", logs.String())
	}
}
