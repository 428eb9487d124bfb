// Command ronghe is the Ronghe platform and its clients in one binary:
//
//	ronghe serve      run the platform (HTTPS with mutual TLS)
//	ronghe admin      onboard institutions and staff, rotate and revoke keys and certificates
//	ronghe submit     sign and upload a batch, resumably, and verify its receipt
//	ronghe fetch      fetch, verify and acknowledge mailbox messages
//	ronghe verify     check a receipt or evidence bundle offline
//	ronghe gen        generate a synthetic financial region of RRS-1 batches
//	ronghe demo       all of the above in a temporary directory
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/ronghe/ronghe"
	"k8s.io/klog/v2"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

// env is what every command writes to; tests give their own.
type env struct {
	stdout, stderr io.Writer
	logger         *slog.Logger
}

func commands() []command {
	return []command{
		{"serve", "run the platform", runServe},
		{"admin", "operator commands: institution add|list, enterprise add, staff add|revoke, key rotate|revoke, cert issue|revoke", runAdmin},
		{"submit", "sign and upload an RRS-1 batch (directory or zip) and verify the receipt", runSubmit},
		{"fetch", "fetch, verify and acknowledge mailbox messages", runFetch},
		{"verify", "verify a receipt or evidence bundle offline", runVerify},
		{"gen", "generate a synthetic region of RRS-1 batches", runGen},
		{"validate", "check RRS-1 batches offline with the platform's rule engine (findings as JSON lines with --json)", runValidate},
		{"report", "flow reports and disputes (异议): report flow, report dispute file|answer|list, report disputes --overdue", runReport},
		{"demo", "run the platform, onboard three banks, submit and verify, in a temp directory", runDemo},
		{"catalog", "the lake's data catalog: tables, columns, levels, PI, rows, freshness (--server: through the API)", runCatalog},
		{"sql", "governed, logged read-only SQL over the lake for the operator's staff (--server: through the API)", runSQL},
		{"lake", "lake maintenance: ingest, compact, expire, orphans", runLake},
		{"quality", "the quality loop: tickets and scores (operator), a batch's check and W confirmations (institution)", runQuality},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdout: os.Stdout, stderr: os.Stderr, logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	slog.SetDefault(e.logger)
	os.Exit(withProfile(func() int { return run(ctx, e, os.Args[1:]) }))
}

// run executes one command line and returns the process exit code: 0 on
// success, 1 when the command failed, 2 for usage errors.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stderr)
		return 2
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, e, args[1:])
		if err == nil {
			return 0
		}
		if errors.Is(err, flag.ErrHelp) {
			return 2
		}
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprintf(e.stderr, "ronghe %s: %s\n", c.name, u.msg)
			return 2
		}
		fmt.Fprintf(e.stderr, "ronghe %s: %s\n", c.name, describe(err))
		return 1
	}
	fmt.Fprintf(e.stderr, "ronghe: unknown command %q\n", args[0])
	usage(e.stderr)
	return 2
}

// describe renders an error for a person: the caller-safe message of a
// platform error with its code, or the error text.
func describe(err error) string {
	var re *ronghe.Error
	if errors.As(err, &re) {
		return fmt.Sprintf("%s [%s]", re.Message, re.Code)
	}
	return err.Error()
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: ronghe <command> [flags]")
	fmt.Fprintln(w)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'ronghe <command> -h' for a command's flags.")
}

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// newFlags returns a flag set whose errors are returned, not fatal.
func newFlags(e *env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("ronghe "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// routeKlog sends the klog output of libraries (Tessera) to the command's
// structured logger instead of raw stderr lines.
func routeKlog(logger *slog.Logger) {
	klog.SetSlogLogger(logger)
}
