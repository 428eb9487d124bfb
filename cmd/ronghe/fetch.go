package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/client"
)

func runFetch(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "fetch")
	prof := profileFlag(fs)
	out := fs.String("out", "", "write each message body to this directory as <id>")
	all := fs.Bool("all", false, "list acknowledged messages too (they are not fetched again)")
	noAck := fs.Bool("no-ack", false, "do not acknowledge fetched messages")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p, err := client.LoadProfile(*prof)
	if err != nil {
		return err
	}
	c, err := client.New(p)
	if err != nil {
		return err
	}
	if p.Pinned == nil {
		return ronghe.Errorf(ronghe.EINVALID, "profile %s has no pinned platform keys (%s); cannot verify messages", *prof, client.PlatformFile)
	}
	v, err := client.NewVerifier(p.Pinned)
	if err != nil {
		return err
	}
	list, err := c.Mailbox(ctx, !*all)
	if err != nil {
		return err
	}
	type row struct {
		ID       string `json:"id"`
		Kind     string `json:"kind"`
		Subject  string `json:"subject"`
		Bytes    int    `json:"bytes"`
		Verified bool   `json:"verified"`
		Acked    bool   `json:"acked"`
	}
	var rows []row
	for _, item := range list {
		if item.AckedAt != nil {
			rows = append(rows, row{ID: item.ID, Kind: item.Kind, Subject: item.Subject, Acked: true})
			continue
		}
		m, err := c.FetchMessage(ctx, item.ID)
		if err != nil {
			return err
		}
		if _, err := v.Mailbox(m, p.Institution, p.Suite); err != nil {
			return fmt.Errorf("message %s: %w", m.ID, err)
		}
		if *out != "" {
			if err := os.MkdirAll(*out, 0o700); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(*out, m.ID), m.Body, 0o600); err != nil {
				return err
			}
		}
		r := row{ID: m.ID, Kind: m.Kind, Subject: m.Subject, Bytes: len(m.Body), Verified: true}
		if !*noAck {
			if _, err := c.Acknowledge(ctx, m); err != nil {
				return fmt.Errorf("acknowledging %s: %w", m.ID, err)
			}
			r.Acked = true
		}
		rows = append(rows, r)
	}
	if *asJSON {
		return printJSON(e.stdout, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(e.stdout, "mailbox empty")
	}
	for _, r := range rows {
		state := "fetched, verified"
		if r.Acked {
			state += ", acknowledged"
		}
		fmt.Fprintf(e.stdout, "%s  %-18s %s (%s)\n", r.ID, r.Kind, r.Subject, state)
	}
	return nil
}
