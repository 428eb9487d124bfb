package lakesql

import (
	"fmt"
	"strings"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/lake"
)

// Role is what a member of the operator's staff may see through governed
// SQL. Columns whose RRS-1 level is at most Clearance are shown as stored;
// the others are masked. Personal information (a PI category) is masked
// unless PI is true, whatever its level.
type Role struct {
	// Name is the role's name as given on the command line.
	Name string `json:"name"`
	// Clearance is the highest data-security level (JR/T 0197-2020) shown.
	Clearance int `json:"clearance"`
	// PI allows personal information (JR/T 0171-2020) unmasked.
	PI bool `json:"pi"`
	// Doc describes the role.
	Doc string `json:"doc"`
}

// The staff roles. Banks have no role: they get reports, never SQL.
var (
	// Analyst sees level 1–2 data: codes, currencies, institution and
	// ledger data; account-level detail (level 3) is masked.
	Analyst = Role{Name: "analyst", Clearance: 2, Doc: "statistics staff: level ≤ 2 shown, level 3 masked, PI masked"}
	// Supervisor sees level 3 detail (accounts, transactions) for
	// supervision, but not personal information.
	Supervisor = Role{Name: "supervisor", Clearance: 3, Doc: "supervision staff: level ≤ 3 shown, PI masked"}
	// Admin sees everything, personal information included.
	Admin = Role{Name: "admin", Clearance: 5, PI: true, Doc: "data administrators: everything shown"}
)

// Roles lists the roles in increasing clearance.
func Roles() []Role { return []Role{Analyst, Supervisor, Admin} }

// RoleByName returns the named role or an EINVALID error listing them.
func RoleByName(name string) (Role, error) {
	for _, r := range Roles() {
		if r.Name == strings.ToLower(strings.TrimSpace(name)) {
			return r, nil
		}
	}
	names := make([]string, 0, 3)
	for _, r := range Roles() {
		names = append(names, r.Name)
	}
	return Role{}, ronghe.Errorf(ronghe.EINVALID, "unknown role %q (roles: %s)", name, strings.Join(names, ", "))
}

// Mask is how a column hidden from a role is shown, after Apache Ranger's
// masking types.
type Mask = ronghe.LakeMask

// The masks.
const (
	MaskNone      Mask = ""            // shown as stored
	MaskShowLast4 Mask = "show-last-4" // account numbers: all but the last 4 characters become 'x'
	MaskRedact    Mask = "redact"      // names and free text: digits become 'n', every other non-space character 'x'
	MaskHash      Mask = "hash"        // identifiers: keyed SHA-256, hex; equal values stay equal, so joins and counts work
	MaskYear      Mask = "year"        // dates: only the year (January 1st of it)
	MaskNull      Mask = "null"        // amounts, numbers, times: NULL
)

// MaskFor returns the mask a column needs for role r: MaskNone when its
// level is within the clearance and it is not PI the role may not see;
// otherwise a mask chosen by what the column holds.
func MaskFor(r Role, c lake.Column) Mask {
	if c.Level <= r.Clearance && (c.PI == "" || r.PI) {
		return MaskNone
	}
	return maskKind(c)
}

// maskKind chooses the mask of a column by its kind and name.
func maskKind(c lake.Column) Mask {
	name := c.Name
	switch {
	case strings.HasSuffix(name, "acct_no") || name == "bene_acct" || c.Kind == "digits":
		return MaskShowLast4
	case c.Kind == "uscc" || c.Kind == "resident_id" || strings.HasSuffix(name, "_id"):
		return MaskHash
	case strings.HasSuffix(name, "name"):
		return MaskRedact
	case c.Type == "date":
		return MaskYear
	case c.Type == "string":
		return MaskRedact
	}
	return MaskNull
}

// maskExpr returns the DuckDB expression of column ident masked by m; key
// is the hash key as an SQL string literal.
func maskExpr(m Mask, ident, duckType, keyLit string) string {
	switch m {
	case MaskNone:
		return ident
	case MaskShowLast4:
		return fmt.Sprintf("CASE WHEN length(%[1]s) <= 4 THEN repeat('x', length(%[1]s)) ELSE repeat('x', length(%[1]s) - 4) || right(%[1]s, 4) END", ident)
	case MaskRedact:
		return fmt.Sprintf(`regexp_replace(regexp_replace(%s, '[^0-9\s]', 'x', 'g'), '[0-9]', 'n', 'g')`, ident)
	case MaskHash:
		return fmt.Sprintf("CASE WHEN %[1]s IS NULL THEN NULL ELSE sha256(%[2]s || CAST(%[1]s AS VARCHAR)) END", ident, keyLit)
	case MaskYear:
		return fmt.Sprintf("CAST(date_trunc('year', %s) AS DATE)", ident)
	}
	return fmt.Sprintf("CAST(NULL AS %s)", duckType)
}

// MaskedColumn names a column a role sees masked.
type MaskedColumn = ronghe.LakeMaskedColumn

// Masked lists, for role r, every column of the given tables it sees
// masked, in table and column order.
func Masked(r Role, tables []*lake.TableState) []MaskedColumn {
	var out []MaskedColumn
	for _, ts := range tables {
		for _, c := range ts.Columns {
			if m := MaskFor(r, c); m != MaskNone {
				out = append(out, MaskedColumn{Table: ts.Name, Column: c.Name, Level: c.Level, PI: c.PI, Mask: m})
			}
		}
	}
	return out
}
