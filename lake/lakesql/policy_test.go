package lakesql

import (
	"math/big"
	"testing"

	"github.com/ronghe/ronghe/lake"
	"github.com/ronghe/ronghe/rrs"
)

// column returns the catalog description of field name of record type t as
// the lake derives it.
func column(t *testing.T, typ rrs.Type, name string) lake.Column {
	t.Helper()
	rt := rrs.Current().Record(typ)
	f := rt.Field(name)
	if f == nil {
		t.Fatalf("%s has no field %s", typ, name)
	}
	c := lake.Column{Name: f.Name, Kind: f.Kind.String(), Level: f.Level, PI: f.PI}
	switch f.Kind {
	case rrs.KindDecimal:
		c.Type = "decimal(18,2)"
	case rrs.KindDate:
		c.Type = "date"
	case rrs.KindTime:
		c.Type = "time"
	case rrs.KindInt:
		c.Type = "long"
	default:
		c.Type = "string"
	}
	return c
}

func TestMaskFor(t *testing.T) {
	tests := []struct {
		typ                        rrs.Type
		field                      string
		analyst, supervisor, admin Mask
	}{
		{rrs.ACCT, "inst_code", MaskNone, MaskNone, MaskNone},
		{rrs.ACCT, "acct_no", MaskShowLast4, MaskNone, MaskNone},
		{rrs.ACCT, "parent_acct_no", MaskShowLast4, MaskNone, MaskNone},
		{rrs.ACCT, "holder_name", MaskNone, MaskNone, MaskNone},
		{rrs.TXN, "txn_id", MaskHash, MaskNone, MaskNone},
		{rrs.TXN, "amount", MaskNull, MaskNone, MaskNone},
		{rrs.TXN, "txn_seq", MaskNull, MaskNone, MaskNone},
		{rrs.TXN, "txn_date", MaskYear, MaskNone, MaskNone},
		{rrs.TXN, "txn_time", MaskNull, MaskNone, MaskNone},
		{rrs.TXN, "dc_flag", MaskRedact, MaskNone, MaskNone},
		{rrs.TXN, "cp_uscc", MaskHash, MaskNone, MaskNone},
		{rrs.TXN, "cp_inst_code", MaskNone, MaskNone, MaskNone},
		{rrs.TXN, "remark", MaskRedact, MaskNone, MaskNone},
		{rrs.FXP, "person_id", MaskHash, MaskHash, MaskNone},
		{rrs.FXP, "person_name", MaskRedact, MaskRedact, MaskNone},
		{rrs.FXP, "bene_acct", MaskShowLast4, MaskNone, MaskNone},
		{rrs.FXP, "bene_country", MaskNone, MaskNone, MaskNone},
		{rrs.GL, "balance", MaskNone, MaskNone, MaskNone},
	}
	for _, tt := range tests {
		c := column(t, tt.typ, tt.field)
		for role, want := range map[*Role]Mask{&Analyst: tt.analyst, &Supervisor: tt.supervisor, &Admin: tt.admin} {
			if got := MaskFor(*role, c); got != want {
				t.Errorf("%s.%s for %s: %q, want %q", tt.typ, tt.field, role.Name, got, want)
			}
		}
	}
	// A column another engine added without a level is treated as level 5.
	if got := MaskFor(Supervisor, lake.Column{Name: "note", Type: "string", Level: 5}); got != MaskRedact {
		t.Errorf("unclassified column: %q", got)
	}
}

func TestRoleByName(t *testing.T) {
	for _, n := range []string{"analyst", " Supervisor ", "ADMIN"} {
		if _, err := RoleByName(n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
	for _, n := range []string{"", "bank", "root"} {
		if _, err := RoleByName(n); err == nil {
			t.Errorf("%q accepted", n)
		}
	}
}

func TestFormatDecimal(t *testing.T) {
	for in, want := range map[int64]string{0: "0.00", 5: "0.05", -5: "-0.05", 12345: "123.45", -100: "-1.00", 999999999999999999: "9999999999999999.99"} {
		if got := formatDecimal(big.NewInt(in), 2); got != want {
			t.Errorf("formatDecimal(%d) = %s, want %s", in, got, want)
		}
	}
	if got := formatDecimal(big.NewInt(42), 0); got != "42" {
		t.Errorf("scale 0: %s", got)
	}
}

func TestCheckTenant(t *testing.T) {
	if err := checkTenant("B224401060001P"); err != nil {
		t.Error(err)
	}
	for _, s := range []string{"", "B22440106000", "B224401060001P'", "B2244010600'--"} {
		if checkTenant(s) == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
