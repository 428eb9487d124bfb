package gen

import (
	"strconv"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// orgCodeAlphabet holds the characters an organisation code body may use
// inside a USCC: digits and the capital letters GB 32100-2015 admits (no I, O,
// S, V, Z).
const orgCodeAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// orgCodeWeights are the GB 11714-1997 weights of the eight body characters.
var orgCodeWeights = [8]int{3, 7, 9, 10, 5, 8, 4, 2}

// orgCodeCheckChar computes the GB 11714-1997 check character of an
// organisation code body of eight digits or capital letters (A = 10 … Z = 35):
// C9 = 11 − (Σ wᵢ·cᵢ mod 11), written as 'X' for 10 and '0' for 11.
func orgCodeCheckChar(body string) (byte, error) {
	if len(body) != 8 {
		return 0, ronghe.Errorf(ronghe.EINVALID, "organisation code body must be 8 characters")
	}
	sum := 0
	for i := 0; i < 8; i++ {
		c := body[i]
		var v int
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case c >= 'A' && c <= 'Z':
			v = int(c-'A') + 10
		default:
			return 0, ronghe.Errorf(ronghe.EINVALID, "organisation code character %d is not a digit or capital letter", i+1)
		}
		sum += v * orgCodeWeights[i]
	}
	switch c := 11 - sum%11; c {
	case 10:
		return 'X', nil
	case 11:
		return '0', nil
	default:
		return byte('0' + c), nil
	}
}

// USCC registration-authority and entity-type prefixes (GB 32100-2015 §4).
const (
	usccEnterprise = "91" // 工商 (market regulation), 企业
	usccGovernment = "11" // 机构编制, 机关
	usccPublicInst = "12" // 机构编制, 事业单位
)

// makeUSCC builds a valid unified social credit code from its two-character
// prefix, a six-digit division code and an eight-character organisation code
// body; it appends the GB 11714 and GB 32100 check characters.
func makeUSCC(prefix, division, body string) (string, error) {
	oc, err := orgCodeCheckChar(body)
	if err != nil {
		return "", err
	}
	first := prefix + division + body + string(oc)
	c, err := rrs.USCCCheckChar(first)
	if err != nil {
		return "", err
	}
	return first + string(c), nil
}

// randomOrgBody draws an organisation code body. Codes issued since the 2015
// reform start with "MA" followed by six code characters (the common 9144…MA…
// form); older ones are eight digits.
func (r *rng) randomOrgBody(modern bool) string {
	var b [8]byte
	i := 0
	if modern {
		b[0], b[1] = 'M', 'A'
		i = 2
	}
	for ; i < 8; i++ {
		if modern {
			b[i] = orgCodeAlphabet[r.intn(len(orgCodeAlphabet))]
		} else {
			b[i] = byte('0' + r.intn(10))
		}
	}
	return string(b[:])
}

// makeResidentID builds a valid 18-digit citizen identity number (GB 11643-1999)
// from a division, a birth date and a three-digit order code (odd for men,
// even for women).
func makeResidentID(division string, birth rrs.Date, order int) (string, error) {
	var b []byte
	b = append(b, division...)
	b = append(b, birth.Compact()...)
	o := strconv.Itoa(order % 1000)
	for len(o) < 3 {
		o = "0" + o
	}
	b = append(b, o...)
	c, err := rrs.ResidentIDCheckChar(string(b))
	if err != nil {
		return "", err
	}
	return string(append(b, c)), nil
}

// luhnDigit returns the Luhn (ISO/IEC 7812) check digit of a digit string,
// the check digit banks put at the end of account and card numbers.
func luhnDigit(digits []byte) byte {
	sum := 0
	double := true
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}

// luhnValid reports whether s ends in its correct Luhn digit.
func luhnValid(s string) bool {
	if len(s) < 2 {
		return false
	}
	return luhnDigit([]byte(s[:len(s)-1])) == s[len(s)-1]
}

// appendPadded appends n in decimal, left-padded with zeros to width.
func appendPadded(dst []byte, n int64, width int) []byte {
	var tmp [20]byte
	s := strconv.AppendInt(tmp[:0], n, 10)
	for i := len(s); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// Institution codes. RRS-1 fixes only their length (14). The generator uses a
// layout modelled on the financial-institution code of JR/T 0124-2014
// (金融机构编码规范): a category letter ('B', banking deposit-taking
// institutions), a class digit (1 large state-owned, 2 joint-stock, 3 city
// commercial, 4 rural commercial, 5 foreign-funded), a level digit (2 = branch
// at prefecture level, the level that reports to a central-bank branch), the
// six-digit division code of the branch's seat, a four-digit sequence number,
// and a check character computed with ISO 7064 MOD 37-36 over the preceding
// 13 characters (digits 0–9, letters A–Z = 10–35). Example: B32440106000127.
const instAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// mod3736Check returns the ISO 7064 MOD 37-36 check character of s (digits and
// capital letters).
func mod3736Check(s string) byte {
	p := 36
	for i := 0; i < len(s); i++ {
		c := s[i]
		var v int
		if c >= '0' && c <= '9' {
			v = int(c - '0')
		} else {
			v = int(c-'A') + 10
		}
		p = (p + v) % 36
		if p == 0 {
			p = 36
		}
		p = (p * 2) % 37
	}
	return instAlphabet[(37-p)%36]
}

// makeInstCode builds a 14-character institution code.
func makeInstCode(class int, division string, seq int) string {
	b := make([]byte, 0, 14)
	b = append(b, 'B', byte('0'+class), '2')
	b = append(b, division...)
	b = appendPadded(b, int64(seq), 4)
	return string(append(b, mod3736Check(string(b))))
}

// validInstCode reports whether s is a code makeInstCode could have built.
func validInstCode(s string) bool {
	return len(s) == 14 && s[0] == 'B' && mod3736Check(s[:13]) == s[13]
}
