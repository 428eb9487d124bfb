package tlog

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// tesseraLockNames are the fcntl(2) record-lock files under .state that
// Tessera's POSIX driver holds while it integrates, publishes a checkpoint or
// collects garbage.
var tesseraLockNames = []string{"treeState.lock", "publish.lock", "gcState.lock"}

// quiesce waits until none of Tessera's background jobs in dir is in the
// middle of writing. Tessera stops those goroutines by context cancellation
// but offers no way to wait for them, so a job that was running when Close
// cancelled it could still be writing after Close returned — into a directory
// a restarted Log (or a test's cleanup) already owns. An open-file-description
// lock conflicts with the driver's classic record locks even within one
// process, so taking each one in turn blocks until the job holding it is done;
// the job then sees its cancelled context and exits.
//
// The lock is dropped by closing the descriptor, never by F_UNLCK first:
// closing a descriptor also drops this process's classic locks on the file,
// and while the OFD lock is held nobody else can hold one.
func quiesce(dir string) error {
	var errs []error
	for _, name := range tesseraLockNames {
		f, err := os.OpenFile(filepath.Join(dir, ".state", name), os.O_RDWR|unix.O_CLOEXEC, 0)
		if errors.Is(err, os.ErrNotExist) {
			continue // the job never ran
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 0}
		for {
			err = unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLKW, &lk)
			if !errors.Is(err, unix.EINTR) {
				break
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
		if cerr := f.Close(); cerr != nil {
			errs = append(errs, cerr)
		}
	}
	return errors.Join(errs...)
}
