package rrs

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"golang.org/x/text/language"

	"github.com/ronghe/ronghe"
)

func TestSpecConsistency(t *testing.T) {
	if err := V1_0.validate(); err != nil {
		t.Fatal(err)
	}
	want := []Type{ACCT, TXN, BAL, GL, STAT, FXP, CTL}
	if len(V1_0.Types) != len(want) {
		t.Fatalf("%d types", len(V1_0.Types))
	}
	for i, ty := range want {
		rt := V1_0.Record(ty)
		if rt == nil || V1_0.Types[i] != rt {
			t.Fatalf("type %s missing or out of order", ty)
		}
	}
	counts := map[Type]int{ACCT: 11, TXN: 17, BAL: 10, GL: 5, STAT: 5, FXP: 12, CTL: 5}
	for ty, n := range counts {
		if got := len(V1_0.Record(ty).Fields); got != n {
			t.Errorf("%s has %d fields, RRS-1 §2 lists %d", ty, got, n)
		}
	}
	keys := map[Type]string{ACCT: "acct_no", TXN: "txn_id", BAL: "acct_no|bal_date", GL: "subject_code|currency",
		STAT: "item_code|currency", FXP: "txn_id", CTL: "file"}
	for ty, k := range keys {
		if got := strings.Join(V1_0.Record(ty).Key, "|"); got != k {
			t.Errorf("%s key %q, want %q", ty, got, k)
		}
	}
	if !V1_0.Record(STAT).MonthEndOnly || !V1_0.Record(FXP).Optional || V1_0.Record(TXN).Optional {
		t.Error("MonthEndOnly/Optional flags wrong")
	}
	// Spot checks against RRS-1 §2.
	txn := V1_0.Record(TXN)
	if f := txn.Field("amount"); f.Kind != KindDecimal || !f.Positive || f.Nullable || f.Level != 3 {
		t.Errorf("TXN.amount = %+v", f)
	}
	if f := txn.Field("remark"); !f.Nullable || f.MaxLen != 200 {
		t.Errorf("TXN.remark = %+v", f)
	}
	if f := V1_0.Record(FXP).Field("person_id"); f.PI != "C2" || f.Kind != KindResidentID {
		t.Errorf("FXP.person_id = %+v", f)
	}
	if f := V1_0.Record(FXP).Field("currency"); len(f.Forbidden) != 1 || f.Forbidden[0] != "CNY" || f.Level != 1 {
		t.Errorf("FXP.currency = %+v", f)
	}
	if txn.Index("nope") != -1 || txn.Field("nope") != nil || txn.Index("inst_code") != 0 {
		t.Error("Index/Field")
	}
	if got := txn.Field("acct_no").TypeString(); got != "string(6..32), digits" {
		t.Errorf("TypeString = %q", got)
	}
	if got := txn.Field("amount").TypeString(); got != "decimal(18,2) > 0" {
		t.Errorf("TypeString = %q", got)
	}
	if f, ok := CTLSumField(FXP); !ok || f != "amount_usd" || V1_0.Record(FXP).Field(f) == nil {
		t.Error("CTLSumField(FXP)")
	}
	if _, ok := CTLSumField(ACCT); ok {
		t.Error("CTLSumField(ACCT)")
	}
	for ty, f := range ctlSumField {
		if V1_0.Record(ty).Field(f) == nil {
			t.Errorf("CTL sum field %s.%s undefined", ty, f)
		}
	}
	// Every CTL file code is a data type.
	for _, c := range V1_0.Record(CTL).Field("file").Codes {
		if V1_0.Record(Type(c.Value)) == nil {
			t.Errorf("CTL file code %s is no record type", c.Value)
		}
	}
	if _, err := V1_0.ParseType("XYZ"); ronghe.ErrorCode(err) != ronghe.EINVALID {
		t.Error("ParseType(XYZ)")
	}
}

func TestSpecValidateCatchesMistakes(t *testing.T) {
	bad := []func(s *Spec){
		func(s *Spec) { s.Types[0].Fields[1].Kind = 0 },
		func(s *Spec) { s.Types[0].Fields[1].Name = "inst_code" },
		func(s *Spec) { s.Types[0].Key = []string{"nope"} },
		func(s *Spec) { s.Types[0].Fields[0].Level = 6 },
		func(s *Spec) { s.Types[0].Fields[2].Codes = nil },
		func(s *Spec) { s.Types[1] = s.Types[0] },
		func(s *Spec) { s.Types[0].Fields[0].Doc = "" },
	}
	for i, edit := range bad {
		if err := derive(V1_0, "9.9", edit).validate(); err == nil {
			t.Errorf("mistake %d not caught", i)
		}
	}
}

func TestLookupAndDerive(t *testing.T) {
	for _, v := range []string{"1", "1.0", "v1.0", " 1.0 ", "RRS-1/1.0"} {
		if s, err := Lookup(v); err != nil || s != V1_0 {
			t.Errorf("Lookup(%q) = %v, %v", v, s, err)
		}
	}
	for _, v := range []string{"", "2", "1.1", "1.0.0", "0.9", "10", "1.00"} {
		_, err := Lookup(v)
		if ronghe.ErrorCode(err) != ronghe.EUNSUPPORTED || !strings.Contains(err.Error(), "supported: 1.0") {
			t.Errorf("Lookup(%q) = %v", v, err)
		}
	}
	if Current() != V1_0 || strings.Join(Versions(), ",") != "1.0" {
		t.Error("Current/Versions")
	}
	// A 1.1 derived from 1.0 with an optional field leaves 1.0 untouched.
	n := len(V1_0.Record(TXN).Fields)
	v11 := derive(V1_0, "1.1", func(s *Spec) {
		txn := s.Record(TXN)
		txn.Fields = append(txn.Fields, Field{Name: "cp_country", Kind: KindCountry, Nullable: true, Level: 1,
			Doc: "counterparty's country", DocZH: "对方国家或地区"})
		txn.Fields[0].Doc = "changed"
	})
	if err := v11.validate(); err != nil {
		t.Fatal(err)
	}
	if len(V1_0.Record(TXN).Fields) != n || V1_0.Record(TXN).Fields[0].Doc == "changed" {
		t.Fatal("derive modified V1_0")
	}
	if v11.Record(TXN).Index("cp_country") != n {
		t.Fatal("derived field missing")
	}
}

func TestFieldCheck(t *testing.T) {
	acct, txn, bal, fxp, stat := V1_0.Record(ACCT), V1_0.Record(TXN), V1_0.Record(BAL), V1_0.Record(FXP), V1_0.Record(STAT)
	tests := []struct {
		rt    *RecordType
		field string
		value string
		rule  string // "" = passes
	}{
		{txn, "inst_code", "", RuleMissing},
		{txn, "inst_code", "C1234567890123", ""},
		{txn, "inst_code", "C123456789012", RuleFormat},
		{txn, "inst_code", "银行12345678901234", RuleFormat},
		{txn, "inst_code", "银行345678901234", ""}, // 14 characters, not bytes
		{txn, "cp_inst_code", "", ""},
		{txn, "acct_no", "12345", RuleFormat},
		{txn, "acct_no", "123456", ""},
		{txn, "acct_no", "12345a", RuleFormat},
		{txn, "acct_no", strings.Repeat("1", 33), RuleFormat},
		{txn, "txn_date", "2024-02-29", ""},
		{txn, "txn_date", "2023-02-29", RuleFormat},
		{txn, "txn_date", "2024/01/01", RuleFormat},
		{txn, "txn_date", "2024-1-01", RuleFormat},
		{txn, "txn_time", "23:59:59", ""},
		{txn, "txn_time", "24:00:00", RuleFormat},
		{txn, "txn_time", "9:00:00", RuleFormat},
		{txn, "txn_seq", "1", ""},
		{txn, "txn_seq", "0", RuleRange},
		{txn, "txn_seq", "-3", RuleRange},
		{txn, "txn_seq", "1.0", RuleFormat},
		{txn, "txn_seq", "+1", RuleFormat},
		{txn, "txn_seq", "1234567890123456789", RuleFormat},
		{txn, "dc_flag", "D", ""},
		{txn, "dc_flag", "d", RuleEnum},
		{txn, "dc_flag", "DEBIT", RuleEnum},
		{txn, "amount", "0.01", ""},
		{txn, "amount", "0", RuleRange},
		{txn, "amount", "-1.00", RuleRange},
		{txn, "amount", "1.001", RuleFormat},
		{txn, "amount", "1e3", RuleFormat},
		{txn, "balance", "-5.00", ""},
		{txn, "currency", "CNY", ""},
		{txn, "currency", "XYZ", RuleISOCode},
		{txn, "currency", "cny", RuleISOCode},
		{txn, "currency", "RMB", RuleISOCode},
		{txn, "currency", "CN", RuleFormat},
		{txn, "currency", "C1Y", RuleFormat},
		{txn, "cp_uscc", "", ""},
		{txn, "cp_uscc", "91350100M000100Y43", ""},
		{txn, "cp_uscc", "91350100M000100Y42", RuleUSCC},
		{txn, "cp_uscc", "91350100M000100Y4", RuleFormat},
		{txn, "channel", "99", ""},
		{txn, "channel", "9", RuleEnum},
		{txn, "remark", "", ""},
		{txn, "remark", "line\nbreak\tand tab", ""},
		{txn, "remark", "bell\a", RuleFormat},
		{txn, "remark", strings.Repeat("字", 200), ""},
		{txn, "remark", strings.Repeat("字", 201), RuleFormat},
		{txn, "cp_name", "bad\xffutf8", RuleFormat},
		{acct, "uscc", "", RuleMissing},
		{acct, "acct_type", "9", ""},
		{acct, "acct_type", "5", RuleEnum},
		{acct, "close_date", "", ""},
		{acct, "holder_name", "某某公司", ""},
		{bal, "debit_count", "0", ""},
		{bal, "debit_count", "-1", RuleRange},
		{bal, "debit_total", "0.00", ""},
		{bal, "debit_total", "-0.01", RuleRange},
		{fxp, "currency", "USD", ""},
		{fxp, "currency", "CNY", RuleISOCode},
		{fxp, "person_id", "11010519491231002X", ""},
		{fxp, "person_id", "11010519491231002x", RuleResidentID},
		{fxp, "person_id", "1101051949123100", RuleFormat},
		{fxp, "bene_country", "US", ""},
		{fxp, "bene_country", "XK", RuleISOCode},
		{fxp, "bene_country", "USA", RuleFormat},
		{stat, "period", "2024-01", ""},
		{stat, "period", "2024-13", RuleFormat},
		{stat, "period", "2024-1", RuleFormat},
	}
	for _, tc := range tests {
		f := tc.rt.Field(tc.field)
		err := f.Validate(tc.value)
		got := ""
		if err != nil {
			is, ok := err.(*Issue)
			if !ok {
				t.Fatalf("%s.%s: error %T", tc.rt.Type, tc.field, err)
			}
			if is.Field != tc.field {
				t.Errorf("issue field %q", is.Field)
			}
			if strings.Contains(is.Error(), tc.value) && len(tc.value) > 3 {
				t.Errorf("%s.%s: issue %q leaks the value", tc.rt.Type, tc.field, is)
			}
			got = is.Rule
		}
		if got != tc.rule {
			t.Errorf("%s.%s Validate(%q) rule %q, want %q (%v)", tc.rt.Type, tc.field, tc.value, got, tc.rule, err)
		}
		// Precedence: Check reports only L01/L02; CheckContent only L03+.
		cerr := f.Check(tc.value)
		if (tc.rule == RuleMissing || tc.rule == RuleFormat) != (cerr != nil) {
			t.Errorf("%s.%s Check(%q) = %v", tc.rt.Type, tc.field, tc.value, cerr)
		}
		if cerr == nil {
			if (tc.rule != "") != (f.CheckContent(tc.value) != nil) {
				t.Errorf("%s.%s CheckContent(%q) disagrees", tc.rt.Type, tc.field, tc.value)
			}
		}
	}
	row := []string{"C1234567890123", "123", "", "", "", "x", "X", "0", "CNY", "1", "", "", "", "", "01", "TAX", ""}
	issues := txn.CheckRow(row)
	var rules []string
	for _, is := range issues {
		rules = append(rules, is.Field+":"+is.Rule)
	}
	want := "acct_no:L02 txn_id:L01 txn_date:L01 txn_time:L01 txn_seq:L02 dc_flag:L06 amount:L07"
	if strings.Join(rules, " ") != want {
		t.Errorf("CheckRow = %s\nwant       %s", strings.Join(rules, " "), want)
	}
	if is := txn.CheckRow([]string{"a"}); len(is) != 1 || is[0].Rule != RuleFormat {
		t.Errorf("short row: %v", is)
	}
}

func TestCodeLists(t *testing.T) {
	cur := Currencies()
	if len(cur) < 170 {
		t.Errorf("only %d currencies", len(cur))
	}
	for i := 1; i < len(cur); i++ {
		if cur[i-1] >= cur[i] {
			t.Errorf("currencies not sorted/unique at %s", cur[i])
		}
	}
	for _, c := range []string{"CNY", "USD", "EUR", "JPY", "HKD", "GBP", "XCG", "ZWG", "SLE", "VED", "CHE", "XAU"} {
		if !ValidCurrency(c) {
			t.Errorf("ValidCurrency(%s) = false", c)
		}
	}
	for _, c := range []string{"", "RMB", "cny", "XXX", "XTS", "HRK", "DEM", "ZWL", "CUC", "US", "USDD", "U$D"} {
		if ValidCurrency(c) {
			t.Errorf("ValidCurrency(%q) = true", c)
		}
	}
	ctry := Countries()
	if len(ctry) != 249 {
		t.Errorf("%d countries, ISO 3166-1 has 249", len(ctry))
	}
	for i := 1; i < len(ctry); i++ {
		if ctry[i-1] >= ctry[i] {
			t.Errorf("countries not sorted/unique at %s", ctry[i])
		}
	}
	// Cross-check with CLDR's region data in x/text: every canonical
	// two-letter country with an ISO alpha-3 code is in our list and vice
	// versa, except XK (Kosovo: user-assigned, private use) and the codes
	// ISO 3166-3 lists as formerly used (Netherlands Antilles, Serbia and
	// Montenegro, Neutral Zone, USSR, Yugoslavia) that CLDR still knows.
	formerly := map[string]bool{"AN": true, "CS": true, "NT": true, "SU": true, "YU": true}
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			code := string([]rune{a, b})
			r, err := language.ParseRegion(code)
			cldr := err == nil && r.IsCountry() && r.Canonicalize() == r && r.M49() != 0 && r.ISO3() != "" &&
				!r.IsPrivateUse() && !formerly[code]
			if cldr != ValidCountry(code) {
				t.Errorf("%s: CLDR country %v, ValidCountry %v", code, cldr, ValidCountry(code))
			}
		}
	}
	for _, c := range []string{"", "cn", "CHN", "C", "XK", "UK", "EU", "ZZ"} {
		if ValidCountry(c) {
			t.Errorf("ValidCountry(%q) = true", c)
		}
	}
}

func TestDate(t *testing.T) {
	d, err := ParseDate("2024-02-29")
	if err != nil || d != (Date{2024, time.February, 29}) || d.String() != "2024-02-29" || d.Compact() != "20240229" {
		t.Fatalf("ParseDate = %v, %v", d, err)
	}
	if string(d.AppendTo(nil)) != "2024-02-29" {
		t.Error("AppendTo")
	}
	for _, s := range []string{"2023-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "0000-01-01", "24-01-01", "2024-01-1", "2024-01-01 ", "２０２４-01-01", "1900-02-29"} {
		if _, err := ParseDate(s); err == nil {
			t.Errorf("ParseDate(%q) accepted", s)
		}
	}
	if got := d.AddDays(1); got != (Date{2024, 3, 1}) {
		t.Errorf("AddDays(1) = %v", got)
	}
	if got := (Date{2024, 12, 31}).AddDays(1); got != (Date{2025, 1, 1}) {
		t.Errorf("AddDays year = %v", got)
	}
	if got := (Date{2024, 3, 1}).AddDays(-1); got != d {
		t.Errorf("AddDays(-1) = %v", got)
	}
	if n := (Date{2025, 1, 1}).DaysSince(Date{2024, 1, 1}); n != 366 {
		t.Errorf("DaysSince = %d", n)
	}
	if n := (Date{1970, 1, 1}).DaysSince(Date{1970, 1, 2}); n != -1 {
		t.Errorf("DaysSince = %d", n)
	}
	if !d.Before(Date{2024, 3, 1}) || d.After(Date{2024, 3, 1}) || d.Compare(d) != 0 {
		t.Error("Before/After/Compare")
	}
	if !d.IsMonthEnd() || (Date{2023, 2, 28}).IsMonthEnd() == false || (Date{2024, 2, 28}).IsMonthEnd() {
		t.Error("IsMonthEnd")
	}
	// 2024-01-31 16:30 UTC is already 2024-02-01 in Shanghai.
	if got := DateOf(time.Date(2024, 1, 31, 16, 30, 0, 0, time.UTC)); got != (Date{2024, 2, 1}) {
		t.Errorf("DateOf = %v", got)
	}
	if got := (Date{2024, 2, 1}).Time(); !got.Equal(time.Date(2024, 1, 31, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("Time = %v", got)
	}
	p, err := ParsePeriod("2024-02")
	if err != nil || p.Last() != d || p.First() != (Date{2024, 2, 1}) || p.Days() != 29 || p.String() != "2024-02" || d.Period() != p {
		t.Errorf("Period = %v, %v", p, err)
	}
	if sec, err := ParseTime("01:02:03"); err != nil || sec != 3723 {
		t.Errorf("ParseTime = %d, %v", sec, err)
	}
}

func TestBatchID(t *testing.T) {
	id, err := ParseBatchID("C1234567890123_20240131_2.zip")
	if err != nil || id.InstCode != "C1234567890123" || id.Date != (Date{2024, 1, 31}) || id.Seq != 2 || !id.IsCorrection() {
		t.Fatalf("ParseBatchID = %+v, %v", id, err)
	}
	if id.String() != "C1234567890123_20240131_2" || id.Valid() != nil {
		t.Errorf("String = %q", id.String())
	}
	for _, s := range []string{
		"", "C1234567890123", "C1234567890123_20240131", "C1234567890123_20240131_0", "C1234567890123_20240131_01",
		"C1234567890123_20240230_1", "C123456789012_20240131_1", "C1234567890123_2024013_1", "C1234567890123_20240131_1_2",
		"C12345678901/3_20240131_1", "../C123456789_20240131_1", "C1234567890123_20240131_10000", "C1234567890123_20240131_-1",
		"C1234567890123_20240131_1.tar", "银行34567890123_20240131_1",
	} {
		if _, err := ParseBatchID(s); ronghe.ErrorCode(err) != ronghe.EINVALID {
			t.Errorf("ParseBatchID(%q) = %v", s, err)
		}
	}
}

func FuzzParseBatchID(f *testing.F) {
	f.Add("C1234567890123_20240131_2.zip")
	f.Add("C1234567890123_20240131_1")
	f.Add("a_b_c")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseBatchID(s)
		if err != nil {
			return
		}
		if id.Valid() != nil {
			t.Fatalf("%q parsed to invalid %+v", s, id)
		}
		again, err := ParseBatchID(id.String())
		if err != nil || again != id {
			t.Fatalf("round trip %q → %q: %+v, %v", s, id.String(), again, err)
		}
		if strings.TrimSuffix(s, ".zip") != id.String() {
			t.Fatalf("%q is not canonical %q", s, id.String())
		}
	})
}

func TestParseEncoding(t *testing.T) {
	for in, want := range map[string]Encoding{"": UTF8, "UTF-8": UTF8, "utf8": UTF8, "gb18030": GB18030, " GB18030 ": GB18030} {
		if got, err := ParseEncoding(in); err != nil || got != want {
			t.Errorf("ParseEncoding(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"GBK", "gb2312", "latin1", "UTF-16"} {
		_, err := ParseEncoding(in)
		if ronghe.ErrorCode(err) != ronghe.EUNSUPPORTED {
			t.Errorf("ParseEncoding(%q) = %v", in, err)
		}
	}
	if _, err := ParseEncoding("GBK"); !strings.Contains(err.Error(), "declare GB18030") {
		t.Errorf("GBK message: %v", err)
	}
}

func TestRowKey(t *testing.T) {
	bal := V1_0.Record(BAL)
	row := []string{"C1234567890123", "622202020011", "2024-01-31", "CNY", "0", "0", "0", "0", "0", "0"}
	if k := bal.RowKey(row, 5); k != "622202020011|2024-01-31" {
		t.Errorf("key %q", k)
	}
	row[2] = "2024-02-30"
	if k := bal.RowKey(row, 5); k != "#5" {
		t.Errorf("malformed key %q", k)
	}
	row[2], row[1] = "2024-01-31", ""
	if k := bal.RowKey(row, 7); k != "#7" {
		t.Errorf("missing key %q", k)
	}
	if k := bal.RowKey(row[:3], 9); k != "#9" {
		t.Errorf("short row key %q", k)
	}
	if k := V1_0.Record(CTL).RowKey([]string{"TXN", "1", "", "", ""}, 2); k != "TXN" {
		t.Errorf("CTL key %q", k)
	}
}

func TestTextMarshalling(t *testing.T) {
	type doc struct {
		Amount Amount  `json:"amount"`
		Date   Date    `json:"date"`
		Batch  BatchID `json:"batch"`
	}
	in := doc{Amount: -5, Date: Date{2024, 1, 31}, Batch: BatchID{"C1234567890123", Date{2024, 1, 31}, 2}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"amount":"-0.05","date":"2024-01-31","batch":"C1234567890123_20240131_2"}` {
		t.Errorf("JSON %s", b)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Errorf("round trip %+v, %v", out, err)
	}
	for _, bad := range []string{`{"amount":"1.001"}`, `{"amount":1.5}`, `{"date":"2024-02-30"}`, `{"batch":"x"}`} {
		if err := json.Unmarshal([]byte(bad), &out); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}
	if _, err := json.Marshal(doc{Amount: MaxAmount + 1, Date: Date{2024, 1, 1}, Batch: in.Batch}); err == nil {
		t.Error("out-of-range amount marshalled")
	}
}

func TestAmountDecimal(t *testing.T) {
	a := Amount(-123456)
	if a.Decimal().String() != "-1234.56" {
		t.Errorf("Decimal %s", a.Decimal())
	}
	for s, want := range map[string]Amount{"1234.5": 123450, "-0.01": -1, "0": 0, "9999999999999999.99": MaxAmount} {
		got, err := AmountFromDecimal(decimal.RequireFromString(s))
		if err != nil || got != want {
			t.Errorf("AmountFromDecimal(%s) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"0.001", "10000000000000000", "-10000000000000000.00"} {
		if _, err := AmountFromDecimal(decimal.RequireFromString(s)); ronghe.ErrorCode(err) != ronghe.EINVALID {
			t.Errorf("AmountFromDecimal(%s) = %v", s, err)
		}
	}
}
