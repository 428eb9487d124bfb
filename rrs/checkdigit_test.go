package rrs

import (
	"strings"
	"testing"
)

// Published codes: the examples named in the task, and the USCCs that
// well-known companies print on their business licences.
var validUSCCs = []string{
	"91350100M000100Y43", // GB 32100-2015 style example
	"91110000600037341L",
	"914403001922038216", // Huawei Technologies Co., Ltd.
	"91330100716105852F", // Alibaba (China) Co., Ltd.
	"9144030071526726XG", // Shenzhen Tencent Computer Systems Co., Ltd.
	"91110108551385082Q", // Beijing Xiaomi Technology Co., Ltd.
	"91310000717854505W",
	"91110000710935732K",
}

func TestValidUSCC(t *testing.T) {
	for _, s := range validUSCCs {
		if !ValidUSCC(s) {
			t.Errorf("ValidUSCC(%q) = false, want true", s)
		}
		c, err := USCCCheckChar(s[:17])
		if err != nil || c != s[17] {
			t.Errorf("USCCCheckChar(%q) = %q, %v; want %q", s[:17], c, err, s[17])
		}
	}
	invalid := []struct{ s, why string }{
		{"", "empty"},
		{"91350100M000100Y4", "17 chars"},
		{"91350100M000100Y433", "19 chars"},
		{"91350100M000100Y42", "wrong check char"},
		{"91350100M000100Y4Z", "Z not in alphabet"},
		{"91350100m000100Y43", "lower case"},
		{"91350100I000100Y43", "I not in alphabet"},
		{"91350100O000100Y43", "O not in alphabet"},
		{"91350100S000100Y43", "S not in alphabet"},
		{"91350100V000100Y43", "V not in alphabet"},
		{"91110000600037341l", "lower-case check char"},
		{"9111000060003734 L", "space"},
		{"９1110000600037341L", "full-width digit"},
		{"91110000600073341L", "transposed digits"},
		{"81110000600037341L", "changed first char"},
	}
	for _, tc := range invalid {
		if ValidUSCC(tc.s) {
			t.Errorf("ValidUSCC(%q) = true (%s), want false", tc.s, tc.why)
		}
	}
	if _, err := USCCCheckChar("91350100M000100YI"); err == nil {
		t.Error("USCCCheckChar accepted I")
	}
	if _, err := USCCCheckChar("123"); err == nil {
		t.Error("USCCCheckChar accepted 3 chars")
	}
}

// Every single-character substitution of a valid code must be detected: the
// MOD 31 check with weights coprime to 31 guarantees it.
func TestUSCCDetectsSubstitution(t *testing.T) {
	for _, s := range validUSCCs {
		for i := 0; i < 18; i++ {
			for j := 0; j < len(usccAlphabet); j++ {
				c := usccAlphabet[j]
				if c == s[i] {
					continue
				}
				m := s[:i] + string(c) + s[i+1:]
				if ValidUSCC(m) {
					t.Fatalf("ValidUSCC(%q) = true after changing position %d", m, i+1)
				}
			}
		}
	}
}

func TestValidResidentID(t *testing.T) {
	valid := []string{
		"11010519491231002X", // GB 11643-1999 example
		"440524188001010014", // GB 11643-1999 example
		"110101199003077774",
		"11010119900307803X",
		"110101200002290018",                   // 2000-02-29 is a real date
		withResidentCheck("11010519001229002"), // 1900-12-29
	}
	for _, s := range valid {
		if !ValidResidentID(s) {
			t.Errorf("ValidResidentID(%q) = false, want true", s)
		}
	}
	d, ok := ResidentIDBirthDate("11010519491231002X")
	if !ok || d != (Date{1949, 12, 31}) {
		t.Errorf("ResidentIDBirthDate = %v, %v", d, ok)
	}
	invalid := []struct{ s, why string }{
		{"", "empty"},
		{"11010519491231002", "17 chars"},
		{"11010519491231002x", "lower-case x"},
		{"110105194912310021", "wrong check"},
		{"11010519491231003X", "changed digit"},
		{"1101051949123100AX", "letter in body"},
		{withResidentCheck("11010519490230002"), "Feb 30"},
		{withResidentCheck("11010519491301002"), "month 13"},
		{withResidentCheck("11010519000229002"), "1900 is not a leap year"},
		{withResidentCheck("11010517991231002"), "before 1800"},
		{withResidentCheck("11010520230000002"), "day 0"},
		{"11010519491231002X ", "19 chars"},
	}
	for _, tc := range invalid {
		if ValidResidentID(tc.s) {
			t.Errorf("ValidResidentID(%q) = true (%s), want false", tc.s, tc.why)
		}
	}
	if _, err := ResidentIDCheckChar("1101051949123100A"); err == nil {
		t.Error("ResidentIDCheckChar accepted a letter")
	}
}

func withResidentCheck(first17 string) string {
	c, err := ResidentIDCheckChar(first17)
	if err != nil {
		panic(err)
	}
	return first17 + string(c)
}

func FuzzValidUSCC(f *testing.F) {
	for _, s := range validUSCCs {
		f.Add(s)
	}
	f.Add("91350100M000100Y4Z")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		ok := ValidUSCC(s)
		if !ok {
			return
		}
		// A valid code is 18 alphabet characters whose last is the check.
		if len(s) != 18 {
			t.Fatalf("valid %q has %d bytes", s, len(s))
		}
		for i := 0; i < 18; i++ {
			if !strings.ContainsRune(usccAlphabet, rune(s[i])) {
				t.Fatalf("valid %q has %q", s, s[i])
			}
		}
		c, err := USCCCheckChar(s[:17])
		if err != nil || c != s[17] {
			t.Fatalf("check char mismatch for %q", s)
		}
	})
}

func FuzzValidResidentID(f *testing.F) {
	f.Add("11010519491231002X")
	f.Add("440524188001010014")
	f.Add("11010519491231002x")
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidResidentID(s) {
			// Completing the first 17 digits with the right check char
			// must give a valid ID exactly when the birth date is real.
			if len(s) >= 17 {
				if c, err := ResidentIDCheckChar(s[:17]); err == nil {
					full := s[:17] + string(c)
					_, dateOK := ResidentIDBirthDate(full)
					if ValidResidentID(full) != dateOK {
						t.Fatalf("%q: valid=%v, birth date ok=%v", full, ValidResidentID(full), dateOK)
					}
				}
			}
			return
		}
		if len(s) != 18 {
			t.Fatalf("valid %q has %d bytes", s, len(s))
		}
		if s[17] != 'X' && (s[17] < '0' || s[17] > '9') {
			t.Fatalf("valid %q has check %q", s, s[17])
		}
	})
}
