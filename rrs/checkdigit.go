package rrs

import (
	"github.com/ronghe/ronghe"
)

// usccAlphabet is the GB 32100-2015 code alphabet: the 31 characters 0-9 and
// A-Z without I, O, S, V and Z. A character's value is its index.
const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// usccWeights are the GB 32100-2015 position weights (3^i mod 31).
var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// usccValue maps a byte to its value in usccAlphabet, or -1.
var usccValue = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(usccAlphabet); i++ {
		t[usccAlphabet[i]] = int8(i)
	}
	return t
}()

// USCCCheckChar computes the check character (18th) of a unified social
// credit code from its first 17 characters per GB 32100-2015:
// C18 = (31 − Σ wᵢ·cᵢ mod 31) mod 31. It returns an EINVALID error when
// first17 is not 17 characters of the code alphabet.
func USCCCheckChar(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, ronghe.Errorf(ronghe.EINVALID, "USCC check: want 17 characters, got %d bytes", len(first17))
	}
	sum := 0
	for i := 0; i < 17; i++ {
		v := usccValue[first17[i]]
		if v < 0 {
			return 0, ronghe.Errorf(ronghe.EINVALID, "USCC check: character %d is not in 0-9A-HJ-NPQRTUWXY", i+1)
		}
		sum += int(v) * usccWeights[i]
	}
	return usccAlphabet[(31-sum%31)%31], nil
}

// ValidUSCC reports whether s is a unified social credit code with a correct
// GB 32100-2015 check character (rule L03): 18 characters from
// 0-9A-HJ-NPQRTUWXY. Lower case is not accepted.
func ValidUSCC(s string) bool {
	if len(s) != 18 {
		return false
	}
	c, err := USCCCheckChar(s[:17])
	return err == nil && c == s[17]
}

// residentWeights are the ISO 7064 MOD 11-2 weights (2^(17-i) mod 11) of
// GB 11643-1999.
var residentWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// residentCheck maps Σ wᵢ·aᵢ mod 11 to the check character.
const residentCheck = "10X98765432"

// ResidentIDCheckChar computes the check character (18th) of a citizen
// identity number from its first 17 digits per GB 11643-1999 (ISO 7064
// MOD 11-2); the result is '0'..'9' or 'X'. It returns an EINVALID error when
// first17 is not 17 ASCII digits. It does not look at the birth date.
func ResidentIDCheckChar(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, ronghe.Errorf(ronghe.EINVALID, "resident ID check: want 17 digits, got %d bytes", len(first17))
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := first17[i]
		if c < '0' || c > '9' {
			return 0, ronghe.Errorf(ronghe.EINVALID, "resident ID check: character %d is not a digit", i+1)
		}
		sum += int(c-'0') * residentWeights[i]
	}
	return residentCheck[sum%11], nil
}

// ValidResidentID reports whether s is an 18-character citizen identity number
// that passes rule L04: 17 digits, a correct GB 11643-1999 check character
// ('0'-'9' or upper-case 'X'), and a birth date (characters 7–14, YYYYMMDD)
// that is a real calendar date in or after 1800.
func ValidResidentID(s string) bool {
	if len(s) != 18 {
		return false
	}
	c, err := ResidentIDCheckChar(s[:17])
	if err != nil || c != s[17] {
		return false
	}
	_, ok := ResidentIDBirthDate(s)
	return ok
}

// ResidentIDBirthDate returns the birth date coded in characters 7–14 of an
// 18-character resident ID, and false when they are not a real date in or
// after 1800. It does not verify the check character.
func ResidentIDBirthDate(s string) (Date, bool) {
	if len(s) != 18 {
		return Date{}, false
	}
	d, ok := parseCompactDate(s[6:14])
	if !ok || d.Y < 1800 {
		return Date{}, false
	}
	return d, true
}
