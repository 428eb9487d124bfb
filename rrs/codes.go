package rrs

import "strings"

// iso4217 is the list of active ISO 4217 alphabetic currency codes (List One)
// as at November 2026, including fund codes (BOV, CHE, CHW, CLF, COU, MXV, USN,
// UYI, UYW), precious metals and the supranational units.
//
// Platform decisions, recorded here and in docs: XTS (reserved for testing) and
// XXX (no currency involved) are left out because no account, transaction or
// purchase can be held in them. Codes withdrawn after a replacement are left
// out: HRK (→EUR 2023), CUC (2021), SLL (→SLE), ZWL (→ZWG 2024), ANG (→XCG
// 2025), BGN (→EUR 2026), VEF (→VES).
const iso4217 = "" +
	"AED AFN ALL AMD AOA ARS AUD AWG AZN " +
	"BAM BBD BDT BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD " +
	"CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK " +
	"DJF DKK DOP DZD " +
	"EGP ERN ETB EUR " +
	"FJD FKP " +
	"GBP GEL GHS GIP GMD GNF GTQ GYD " +
	"HKD HNL HTG HUF " +
	"IDR ILS INR IQD IRR ISK " +
	"JMD JOD JPY " +
	"KES KGS KHR KMF KPW KRW KWD KYD KZT " +
	"LAK LBP LKR LRD LSL LYD " +
	"MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN " +
	"NAD NGN NIO NOK NPR NZD " +
	"OMR " +
	"PAB PEN PGK PHP PKR PLN PYG " +
	"QAR " +
	"RON RSD RUB RWF " +
	"SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL " +
	"THB TJS TMT TND TOP TRY TTD TWD TZS " +
	"UAH UGX USD USN UYI UYU UYW UZS " +
	"VED VES VND VUV " +
	"WST " +
	"XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XUA " +
	"YER " +
	"ZAR ZMW ZWG"

// iso3166 is the list of ISO 3166-1 alpha-2 country codes (all 249 officially
// assigned codes; user-assigned codes such as XK are not included).
const iso3166 = "" +
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ " +
	"BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ " +
	"DE DJ DK DM DO DZ " +
	"EC EE EG EH ER ES ET " +
	"FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY " +
	"HK HM HN HR HT HU " +
	"ID IE IL IM IN IO IQ IR IS IT " +
	"JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ " +
	"LA LB LC LI LK LR LS LT LU LV LY " +
	"MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
	"NA NC NE NF NG NI NL NO NP NR NU NZ " +
	"OM " +
	"PA PE PF PG PH PK PL PM PN PR PS PT PW PY " +
	"QA " +
	"RE RO RS RU RW " +
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ " +
	"TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ " +
	"UA UG UM US UY UZ " +
	"VA VC VE VG VI VN VU " +
	"WF WS " +
	"YE YT " +
	"ZA ZM ZW"

// Lookup tables indexed by the letters, built once from the lists above.
var (
	currencySet [26 * 26 * 26]bool
	countrySet  [26 * 26]bool
)

func init() {
	for _, c := range strings.Fields(iso4217) {
		currencySet[alpha3(c)] = true
	}
	for _, c := range strings.Fields(iso3166) {
		countrySet[alpha2(c)] = true
	}
}

func alpha3(c string) int { return int(c[0]-'A')*676 + int(c[1]-'A')*26 + int(c[2]-'A') }
func alpha2(c string) int { return int(c[0]-'A')*26 + int(c[1]-'A') }

func isUpper(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < n; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// ValidCurrency reports whether code is an active ISO 4217 alphabetic code in
// upper case (rule L05).
func ValidCurrency(code string) bool { return isUpper(code, 3) && currencySet[alpha3(code)] }

// ValidCountry reports whether code is an ISO 3166-1 alpha-2 code in upper
// case (rule L05).
func ValidCountry(code string) bool { return isUpper(code, 2) && countrySet[alpha2(code)] }

// Currencies returns the active ISO 4217 codes ValidCurrency accepts, sorted.
func Currencies() []string { return strings.Fields(iso4217) }

// Countries returns the ISO 3166-1 alpha-2 codes ValidCountry accepts, sorted.
func Countries() []string { return strings.Fields(iso3166) }
