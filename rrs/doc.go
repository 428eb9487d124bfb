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
package rrs
