package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ronghe/ronghe/lake"
)

// runCatalog prints the lake's data catalog: tables, their columns with
// RRS-1 levels and PI categories, row counts and freshness. With --server it
// asks the platform's lake API with a staff certificate instead of opening
// the lake in the data directory.
func runCatalog(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "catalog")
	lf := addLakeFlags(fs)
	sf := addStaffFlags(fs)
	columns := fs.Bool("columns", false, "list every column with its level and PI category")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usagef("usage: ronghe catalog [flags] [TABLE]")
	}
	var infos []lake.TableInfo
	var header string
	if sf.remote() {
		c, err := sf.client()
		if err != nil {
			return err
		}
		if infos, err = c.LakeCatalog(ctx); err != nil {
			return err
		}
		header = "catalog of " + sf.server
	} else {
		l, err := lf.open(ctx, e)
		if err != nil {
			return err
		}
		defer l.Close()
		if infos, err = l.Catalog(ctx); err != nil {
			return err
		}
		cfg := l.Config()
		header = fmt.Sprintf("catalog %s (%s), warehouse %s", cfg.CatalogName, redactURI(cfg.CatalogURI), cfg.Warehouse)
	}
	if fs.NArg() == 1 {
		want := strings.ToLower(fs.Arg(0))
		if _, short, ok := strings.Cut(want, "."); ok {
			want = short
		}
		var sel []lake.TableInfo
		for _, ti := range infos {
			if name := ti.Name[strings.LastIndexByte(ti.Name, '.')+1:]; name == want {
				sel = append(sel, ti)
			}
		}
		if len(sel) == 0 {
			return usagef("no table %q", fs.Arg(0))
		}
		infos, *columns = sel, true
	}
	if *asJSON {
		return printJSON(e.stdout, infos)
	}
	return printCatalog(e, header, infos, *columns)
}

func printCatalog(e *env, header string, infos []lake.TableInfo, columns bool) error {
	fmt.Fprintf(e.stdout, "%s\n\n", header)
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tCONTENT\tROWS\tFILES\tSIZE\tLEVEL\tPI\tLATEST DATE\tUPDATED\tSNAPSHOTS")
	for _, ti := range infos {
		updated := "-"
		if !ti.LastUpdated.IsZero() {
			updated = ti.LastUpdated.In(shanghai()).Format("2006-01-02 15:04")
		}
		latest := ti.LatestBusinessDate
		if latest == "" {
			latest = "-"
		}
		pi := strings.Join(ti.PI, ",")
		if pi == "" {
			pi = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t≤%d\t%s\t%s\t%s\t%d\n", ti.Name, ti.TitleZH, ti.Rows, ti.DataFiles,
			humanBytes(ti.Bytes), ti.MaxLevel, pi, latest, updated, ti.Snapshots)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, ti := range infos {
		if columns {
			fmt.Fprintf(e.stdout, "\n%s — %s / %s, partitioned by %s\n", ti.Name, ti.Title, ti.TitleZH, strings.Join(ti.Partitioning, ", "))
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "  COLUMN\tTYPE\tNULL\tLEVEL\tPI\tDESCRIPTION")
			for _, c := range ti.Columns {
				null := "yes"
				if c.Required {
					null = "no"
				}
				pi := c.PI
				if pi == "" {
					pi = "-"
				}
				doc, _, _ := strings.Cut(c.Doc, " [RRS-1")
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\n", c.Name, c.Type, null, c.Level, pi, doc)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
		if len(ti.Institutions) > 0 && columns {
			fmt.Fprintf(e.stdout, "  freshness per institution:")
			for _, ii := range ti.Institutions {
				fmt.Fprintf(e.stdout, " %s %d rows to %s;", ii.Inst, ii.Rows, ii.LatestBusinessDate)
			}
			fmt.Fprintln(e.stdout)
		}
		if columns && !ti.OldestSnapshot.IsZero() {
			fmt.Fprintf(e.stdout, "  as-of queries reach back to %s\n", ti.OldestSnapshot.In(shanghai()).Format(time.DateTime))
		}
	}
	return nil
}

// redactURI hides a password in a catalog DSN.
func redactURI(s string) string {
	at := strings.LastIndexByte(s, '@')
	scheme := strings.Index(s, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return s
	}
	cred := s[scheme+3 : at]
	if user, _, ok := strings.Cut(cred, ":"); ok {
		return s[:scheme+3] + user + ":***" + s[at:]
	}
	return s
}
