package rrs

import (
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/ronghe/ronghe"
)

// Encoding is the character encoding of a batch's CSV files, declared in the
// submission manifest (RRS-1 §1).
type Encoding string

// The encodings RRS-1 allows.
const (
	UTF8    Encoding = "UTF-8"
	GB18030 Encoding = "GB18030"
)

// ParseEncoding parses an encoding declaration case-insensitively: "UTF-8"
// (also "utf8") or "GB18030"; an empty declaration means UTF-8, the default of
// RRS-1 §1. Anything else, GBK and GB2312 included, is refused with an
// EUNSUPPORTED error: those are subsets of GB18030, so a file in them can be
// declared GB18030.
func ParseEncoding(s string) (Encoding, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", "UTF-8", "UTF8":
		return UTF8, nil
	case "GB18030", "GB-18030":
		return GB18030, nil
	case "GBK", "GB2312", "CP936":
		return "", ronghe.Errorf(ronghe.EUNSUPPORTED,
			"encoding %q is not allowed by RRS-1: declare GB18030 (a superset of GBK and GB2312) or UTF-8", clip(s))
	}
	return "", ronghe.Errorf(ronghe.EUNSUPPORTED, "encoding %q is not allowed by RRS-1 (allowed: UTF-8, GB18030)", clip(s))
}

// Valid reports whether e is one of the RRS-1 encodings.
func (e Encoding) Valid() bool { return e == UTF8 || e == GB18030 }

// textEncoding returns the x/text codec of e, or nil for UTF-8, which needs
// no transformation.
func (e Encoding) textEncoding() encoding.Encoding {
	if e == GB18030 {
		return simplifiedchinese.GB18030
	}
	return nil
}

func checkEncoding(e Encoding) error {
	if !e.Valid() {
		return ronghe.Errorf(ronghe.EUNSUPPORTED, "encoding %q is not allowed by RRS-1 (allowed: UTF-8, GB18030)", clip(string(e)))
	}
	return nil
}
