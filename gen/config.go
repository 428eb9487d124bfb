package gen

import (
	"slices"
	"strings"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// Config sets the size and shape of a synthetic region. The same Config
// always produces byte-identical output.
type Config struct {
	// Seed selects the region; every random choice derives from it.
	Seed int64
	// Institutions is the number of reporting banks (1–999).
	Institutions int
	// Enterprises is the number of account-holding enterprises: at least 4
	// per institution, and over more than 7 days enough to give every bank
	// minCustomers ordinary customers (minEnterprises; see README, Volume
	// floor).
	Enterprises int
	// People is the number of individuals who may buy foreign exchange
	// (0 = no FXP files).
	People int
	// Start is the first business date; Days the number of calendar days.
	Start rrs.Date
	Days  int
	// Encoding is the CSV encoding of the batches (rrs.UTF8 when empty).
	Encoding rrs.Encoding
	// Zip writes each batch as <name>.zip instead of a directory.
	Zip bool
	// DefectRate is the probability (not money) that one candidate unit — a
	// TXN row, an account-day or a batch, depending on the rule — carries an
	// injected violation of each rule in DefectRules. 0 writes clean data.
	DefectRate float64
	// DefectRules lists the RRS-1 rules to violate; empty with DefectRate > 0
	// means every rule SupportedRules returns.
	DefectRules []string
	// OutDir receives the batches, region.json and truth/.
	OutDir string
	// Progress, when set, is called after each batch is written with the
	// number of batches done and the total; calls are serialised.
	Progress func(done, total int)
}

// DefaultConfig returns the demo region: three banks, sixty enterprises and
// three hundred people over the 31 days of January 2025 (Spring Festival
// falls on 29 January, so the month shows the pre-festival peak), written as
// UTF-8 directories under ./region. It generates in about a second.
func DefaultConfig() Config {
	return Config{
		Seed:         20250101,
		Institutions: 3,
		Enterprises:  60,
		People:       300,
		Start:        rrs.Date{Y: 2025, M: 1, D: 1},
		Days:         31,
		Encoding:     rrs.UTF8,
		OutDir:       "region",
	}
}

// Limits on Config sizes: institution codes and account numbers have room for
// 999 institutions; the other bounds keep one day's working set in memory.
const (
	maxInstitutions = 999
	maxEnterprises  = 10_000_000
	maxPeople       = 100_000_000
	maxDays         = 36600
)

// minCustomers is the number of ordinary enterprises (established before the
// start, not shells or mules) every bank gets in a region of more than 7
// days. Fewer leave a bank whose daily TXN count is small enough for
// ordinary ups and downs — a quiet weekend or holiday after busy days, a
// payroll or tax day — to leave RRS-1 C06's [0.2×, 5×] band of its previous
// 7 batches on clean data. The value is measured: TestC06FloorSweep
// generates regions of exactly minEnterprises over many seeds and spans
// (Spring Festival and National Day included) and finds no C06.
const minCustomers = 10

// ringFullCustomers is the number of ordinary customers each bank of a mule
// ring needs for the ring to run at full size (see buildMuleRings).
const ringFullCustomers = 50

// roleCounts returns the number of mule rings and shells in a region of n
// enterprises; each ring has 4–7 mule enterprises.
func roleCounts(n int) (rings, shells int) {
	if n >= 30 {
		rings = max(1, n/150)
	}
	if n >= 20 {
		shells = max(n*4/100, rings+1)
	}
	return rings, shells
}

// ordinaryMin is the least number of ordinary enterprises (not shells or
// mules) a region of n enterprises has, whatever the seed.
func ordinaryMin(n int) int {
	rings, shells := roleCounts(n)
	return n - shells - 7*rings
}

// minEnterprises is the least number of enterprises for insts institutions
// in a region of more than 7 days.
func minEnterprises(insts int) int {
	n := minCustomers * insts
	for ordinaryMin(n) < minCustomers*insts {
		n++
	}
	return n
}

// supportedRules are the rules whose violations the generator can inject
// with an exactly known set of findings.
var supportedRules = []string{
	"L01", "L02", "L03", "L04", "L05", "L06", "L07", "L08", "L09", "L10",
	"S01", "S02", "S03",
	"C01", "C02", "C03", "C04", "C05", "C06",
	"T01", "T02", "T03",
}

// SupportedRules returns the RRS-1 rule IDs DefectRules may name.
func SupportedRules() []string { return slices.Clone(supportedRules) }

// ParseRules parses a comma-separated rule list such as "L03,C03, T01"
// (case-insensitive, blanks ignored) into de-duplicated rule IDs in RRS-1
// order (L, S, C, T; then by number). An
// unknown rule is an EINVALID error; "all" or "*" selects every supported rule.
func ParseRules(s string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		r := strings.ToUpper(strings.TrimSpace(part))
		switch {
		case r == "":
			continue
		case r == "ALL" || r == "*":
			out = append(out, supportedRules...)
		case slices.Contains(supportedRules, r):
			out = append(out, r)
		default:
			if len(r) > 8 {
				r = r[:8] + "…"
			}
			return nil, ronghe.Errorf(ronghe.EINVALID, "unknown or unsupported rule %q (supported: %s)", r, strings.Join(supportedRules, ","))
		}
	}
	slices.SortFunc(out, func(a, b string) int { return slices.Index(supportedRules, a) - slices.Index(supportedRules, b) })
	return slices.Compact(out), nil
}

// validate checks cfg and fills defaults; it returns the normalised copy.
func (cfg Config) validate() (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return cfg, ronghe.Errorf(ronghe.EINVALID, "gen: "+format, args...)
	}
	switch {
	case cfg.Institutions < 1 || cfg.Institutions > maxInstitutions:
		return bad("institutions must be 1..%d, got %d", maxInstitutions, cfg.Institutions)
	case cfg.Enterprises < 1 || cfg.Enterprises > maxEnterprises:
		return bad("enterprises must be 1..%d, got %d", maxEnterprises, cfg.Enterprises)
	case cfg.Days > 7 && ordinaryMin(cfg.Enterprises) < minCustomers*cfg.Institutions:
		return bad("%d enterprises are too few for %d institutions over %d days: every bank needs at least %d ordinary customers "+
			"(shells and mule accounts aside) so that its daily TXN count stays inside RRS-1 C06's [0.2×, 5×] band "+
			"of its last 7 batches on clean data; use at least %d enterprises (or at most 7 days, before C06 applies)",
			cfg.Enterprises, cfg.Institutions, cfg.Days, minCustomers, minEnterprises(cfg.Institutions))
	case cfg.Enterprises < 4*cfg.Institutions:
		// A floor for regions of up to 7 days too, which C06 cannot reach.
		return bad("need at least 4 enterprises per institution (%d institutions, %d enterprises)", cfg.Institutions, cfg.Enterprises)
	case cfg.People < 0 || cfg.People > maxPeople:
		return bad("people must be 0..%d, got %d", maxPeople, cfg.People)
	case cfg.Days < 1 || cfg.Days > maxDays:
		return bad("days must be 1..%d, got %d", maxDays, cfg.Days)
	case !cfg.Start.Valid() || cfg.Start.Y < 2000 || cfg.Start.Y > 2090:
		return bad("start must be a real date in 2000..2090")
	case cfg.OutDir == "":
		return bad("no output directory")
	case !(cfg.DefectRate >= 0 && cfg.DefectRate <= 1): // also rejects NaN
		return bad("defect rate must be a probability in [0, 1]")
	}
	if cfg.Encoding == "" {
		cfg.Encoding = rrs.UTF8
	}
	if !cfg.Encoding.Valid() {
		return cfg, ronghe.Errorf(ronghe.EUNSUPPORTED, "gen: encoding %q is not allowed by RRS-1", cfg.Encoding)
	}
	rules, err := ParseRules(strings.Join(cfg.DefectRules, ","))
	if err != nil {
		return cfg, err
	}
	if len(rules) == 0 && cfg.DefectRate > 0 {
		rules = SupportedRules()
	}
	cfg.DefectRules = rules
	return cfg, nil
}

// Summary reports what Generate wrote.
type Summary struct {
	// Batches is the number of batch directories or zips written; Omitted
	// the number left out on purpose (C05 defects).
	Batches, Omitted int
	// Rows counts the data rows written per record type.
	Rows map[rrs.Type]int64
	// Defects is the number of injected defects; Findings the number of
	// findings they cause (the lines of truth/defects.jsonl).
	Defects, Findings int
	// Bytes is the size of the batches as written (files or zips).
	Bytes int64
	// Institutions, Enterprises, Accounts and People describe the region.
	Institutions, Enterprises, Accounts, People int
	// Start and End are the first and last business dates.
	Start, End rrs.Date
}
