// Package rrs is RRS-1, the platform's reporting and rule standard, in code.
//
// One table (v1.go) defines every record type of a version: its fields in
// canonical order with kind, length, nullability, code list, data-security
// level (JR/T 0197-2020), personal-information category (JR/T 0171-2020) and
// key. The CSV readers and writer, the field-level rule checks (L01–L07), the
// published JSON Schemas and the Markdown docs are all derived from that table;
// no other copy of a field list exists.
//
// # Versions
//
// A Spec carries its version "major.minor". A minor version may only add
// optional (nullable) fields at the end of a record type; a new major version
// is needed for anything else: removing or renaming a field, narrowing a type,
// adding a required field or a record type that must be present. A batch
// declares the version it was written for and is read with that version's
// Spec (Lookup), so 1.0 batches stay readable after 1.1 is published.
//
// A 1.1 that adds an optional field is declared next to V1_0 by deriving it,
// never by copying the table:
//
//	var V1_1 = mustRegister(derive(v10, "1.1", func(s *Spec) {
//		txn := s.Record(TXN)
//		txn.Fields = append(txn.Fields, Field{Name: "cp_country", Kind: KindCountry,
//			Nullable: true, Level: 1, Doc: "counterparty's country", DocZH: "对方国家或地区"})
//	}))
//
// (derive deep-copies the record types so V1_0 stays unchanged.) Lookup then
// resolves "1.1", and "1" to the newest 1.x; Current returns the newest
// version. Any other version string is refused with an EUNSUPPORTED error that
// names the supported versions.
//
// # Money and dates
//
// Amounts are decimal(18,2) end to end: Amount is int64 cents, parsed strictly
// and printed with two fraction digits, and sums are overflow-checked. Business
// dates are civil dates (Date) reckoned in Asia/Shanghai (Shanghai).
//
// # Files and batches
//
// A batch is a directory or zip named <inst_code>_<YYYYMMDD>_<seq> holding one
// <TYPE>.csv per record type. Writer emits RFC 4180 CSV in UTF-8 or GB18030;
// Reader streams one file with flat memory and reports every problem with file
// name and line; OpenBatch opens a directory or a zip safely (no path
// traversal, no nested directories, zip-bomb limits).
//
// # Decisions where RRS-1 is silent
//
//   - "string(n)" means exactly n characters, "string(m..n)" between m and n.
//     Lengths count Unicode characters. Only the empty string is a null;
//     surrounding spaces are part of a value.
//   - Field-level precedence (§3.1) is implemented by Field.Check (L01, L02)
//     and Field.CheckContent (L03–L07): an enum's only format is its code
//     list, so any non-empty enum value that is not listed is L06, never L02;
//     a currency or country of the right shape (three or two letters) that is
//     not in the list is L05; a USCC or resident ID of the wrong length is
//     L02, one of the right length with a bad character or check is L03/L04.
//     Free text may hold tab, CR and LF (quoted) but no other control
//     character (L02). Integers are an optional '-' and at most 18 digits.
//   - Issues never quote the offending value: values may be personal
//     information or security-level-3 data.
//   - ISO 4217: the active list as at November 2026 without XTS and XXX;
//     currencies withdrawn after a replacement (HRK, CUC, SLL, ZWL, ANG, BGN,
//     VEF) are not active. ISO 3166-1: the 249 assigned alpha-2 codes; XK is
//     user-assigned and refused.
//   - Resident ID birth dates must be real dates in or after 1800.
//   - Batch names: inst_code is 14 ASCII letters or digits; seq is 1..9999
//     without leading zeros.
//   - CSV: empty lines are skipped; a quote inside an unquoted field, text
//     after a closing quote and a bare CR outside quotes are errors; "\r\n"
//     inside a quoted field reads as "\n". A record may not exceed
//     MaxRecordBytes. In GB18030 files U+FFFD is refused because the decoder
//     produces it for undecodable bytes; the euro sign byte 0x80 is accepted
//     as the WHATWG GB18030 decoder does.
//   - A zip batch holds its files at the top level or in one folder named
//     after the batch; other non-CSV entries are listed by Batch.Unknown.
package rrs
