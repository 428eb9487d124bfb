package report

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"math"
	"time"

	"github.com/ronghe/ronghe/rrs"
)

//go:embed report.html.tmpl
var templates embed.FS

var page = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"pct":   func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) },
	"ratio": func(f *float64) string { return optional(f, "%.2f") },
	"growth": func(f *float64) string {
		if f == nil {
			return "—"
		}
		return fmt.Sprintf("%+.1f%%", *f*100)
	},
	"chart": chart,
	"cst":   func(t time.Time, layout string) string { return t.In(rrs.Shanghai).Format(layout) },
	// due shows a deadline (the start of the day after the last day to
	// answer) as that last day.
	"due": func(t time.Time) string { return t.In(rrs.Shanghai).Add(-time.Nanosecond).Format("2006-01-02") },
}).ParseFS(templates, "report.html.tmpl"))

func optional(f *float64, format string) string {
	if f == nil {
		return "—"
	}
	return fmt.Sprintf(format, *f)
}

// HTML renders the report as a self-contained page for the loan officer:
// the figures, and charts of monthly inflow, outflow and balance as inline
// SVG (no script, nothing fetched).
func (r *Report) HTML() ([]byte, error) {
	var b bytes.Buffer
	if err := page.Execute(&b, r); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// chart draws monthly inflow and outflow as bars and the month-end balance
// as a line, scaled to the largest value.
func chart(c CurrencyReport) template.HTML {
	const w, h, pad = 720, 220, 30
	n := len(c.Monthly)
	if n == 0 {
		return ""
	}
	var max int64 = 1
	for _, m := range c.Monthly {
		for _, v := range []rrs.Amount{m.Inflow, m.Outflow, m.MonthEndBalance} {
			if int64(v) > max {
				max = int64(v)
			}
		}
	}
	y := func(v rrs.Amount) float64 {
		return float64(h-pad) - float64(max64(int64(v), 0))/float64(max)*float64(h-2*pad)
	}
	slot := float64(w-2*pad) / float64(n)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" width="100%%" role="img" aria-label="monthly inflow, outflow and balance, %s">`, w, h, template.HTMLEscapeString(c.Currency))
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>`, pad, h-pad, w-pad, h-pad)
	var line bytes.Buffer
	for i, m := range c.Monthly {
		x := float64(pad) + slot*float64(i)
		bw := math.Max(slot/3-2, 1)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#2e7d32"><title>%s inflow %s</title></rect>`,
			x+2, y(m.Inflow), bw, float64(h-pad)-y(m.Inflow), m.Month, m.Inflow)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#c62828"><title>%s outflow %s</title></rect>`,
			x+2+bw, y(m.Outflow), bw, float64(h-pad)-y(m.Outflow), m.Month, m.Outflow)
		if m.HasBalance {
			cmd := "L"
			if line.Len() == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&line, "%s%.1f %.1f ", cmd, x+slot/2, y(m.MonthEndBalance))
		}
		if n <= 12 || i%3 == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="10" text-anchor="middle">%s</text>`, x+slot/2, h-pad+14, m.Month)
		}
	}
	if line.Len() > 0 {
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="#1565c0" stroke-width="2"/>`, line.String())
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
