package main

import (
	"context"
	"flag"
	"log/slog"
	"time"

	"github.com/ronghe/ronghe/internal/periodic"
)

// Defaults of the upload sweep: an unfinished upload that has not changed
// for a week is abandoned; the staging directory is looked at every hour.
const (
	defaultUploadTTL           = 7 * 24 * time.Hour
	defaultUploadSweepInterval = time.Hour
)

// uploadSweepFlags configure the periodic removal of abandoned uploads from
// the staging directory.
type uploadSweepFlags struct {
	ttl      time.Duration // an unfinished upload idle this long is removed; 0 means the default
	interval time.Duration // how often to look; 0 means the default, negative disables the sweep
}

func (u *uploadSweepFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&u.ttl, "upload-ttl", envDuration("RONGHE_UPLOAD_TTL", defaultUploadTTL),
		"remove unfinished uploads (and orphaned staging files) unchanged for this long; the bank then sends the file again (0: the default)")
	fs.DurationVar(&u.interval, "upload-sweep-interval", envDuration("RONGHE_UPLOAD_SWEEP_INTERVAL", defaultUploadSweepInterval),
		"how often to sweep the upload staging directory (0: the default, negative: never)")
}

// envDuration reads a duration from the environment, or def when it is unset
// or unreadable (the flag then shows and validates the value).
func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(envOr(name, "")); err == nil {
		return d
	}
	return def
}

// sweeper is what the upload sweep runs on: the upload store's Sweep.
type sweeper interface {
	Sweep(ctx context.Context, cutoff time.Time) (int, error)
	Dir() string
}

// startUploadSweep sweeps the staging directory now and then every interval
// until ctx ends or the returned stop is called (which waits for a running
// sweep). now is the clock (time.Now outside tests).
//
// Every serve process runs it, leader or not: with S3 blobs each process may
// stage uploads in a directory of its own, which only it can sweep. On a
// directory shared by several processes the sweeps are safe together: each
// removes only uploads idle for the TTL, under the upload's lock, and a
// removal that finds the files already gone is not an error.
func startUploadSweep(ctx context.Context, s sweeper, cfg uploadSweepFlags, now func() time.Time, logger *slog.Logger) (stop func()) {
	if cfg.interval < 0 {
		logger.Info("upload sweep disabled", "dir", s.Dir(), "ttl", cfg.ttl, "interval", cfg.interval)
		return func() {}
	}
	if cfg.interval == 0 {
		cfg.interval = defaultUploadSweepInterval
	}
	if cfg.ttl <= 0 {
		cfg.ttl = defaultUploadTTL
	}
	return periodic.Start(ctx, cfg.interval, func(ctx context.Context) {
		cutoff := now().Add(-cfg.ttl)
		n, err := s.Sweep(ctx, cutoff)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.WarnContext(ctx, "upload sweep", "dir", s.Dir(), "removed", n, "err", err)
		case n > 0:
			logger.InfoContext(ctx, "upload sweep removed abandoned uploads", "dir", s.Dir(), "removed", n,
				"unchanged_since", cutoff.UTC().Format(time.RFC3339), "ttl", cfg.ttl)
		default:
			logger.DebugContext(ctx, "upload sweep found nothing to remove", "dir", s.Dir())
		}
	})
}
