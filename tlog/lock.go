package tlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ronghe/ronghe"
)

// writerLockName is the file, inside Tessera's private .state directory, on
// which the single writer holds an exclusive flock(2) for as long as the log is
// open. The HTTP handler never serves anything under .state.
const writerLockName = "ronghe-writer.lock"

// writerLock is an exclusive, non-blocking BSD flock on writerLockName. flock
// locks belong to the open file description, so they exclude a second Open in
// the same process as well as other processes, and they are released by the
// kernel when the holder exits, even if it crashes. They are independent of the
// fcntl(2) record locks Tessera takes on its own lock files.
type writerLock struct {
	f *os.File
}

// acquireWriterLock takes the writer lock of the log in dir, failing at once
// with ECONFLICT if another Log (in this or another process) holds it.
func acquireWriterLock(dir string) (*writerLock, error) {
	stateDir := filepath.Join(dir, ".state")
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", stateDir, err)
	}
	p := filepath.Join(stateDir, writerLockName)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open writer lock %s: %w", p, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		holder := ""
		if b, rerr := os.ReadFile(p); rerr == nil {
			holder = strings.TrimSpace(string(b))
		}
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			if holder == "" {
				holder = "another writer"
			}
			return nil, ronghe.Errorf(ronghe.ECONFLICT, "transparency log %s is already open for writing (held by %s)", dir, holder)
		}
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	// Record who holds the lock, for the error message of the next contender.
	host, _ := os.Hostname()
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d on %s\n", os.Getpid(), host)), 0)
	}
	return &writerLock{f: f}, nil
}

// release drops the lock. The holder note is left in place: it is only read
// when a contender fails, and then it names the current holder, who rewrote it.
func (l *writerLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
