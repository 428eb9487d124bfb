package ronghe

import (
	"context"
	"time"
)

// FlowDay is what one institution's batch for one business date contributes
// to the enterprise flow reports of RRS-1 §5: per enterprise, per currency and
// per (pseudonymous) counterparty sums, account balances and account states.
// A correction batch replaces the whole FlowDay of its institution and date,
// so the aggregates always reflect the latest version of every batch.
type FlowDay struct {
	// Inst and Date (YYYY-MM-DD, Asia/Shanghai) identify the slice replaced.
	Inst string
	Date string
	// Batch and Seq name the batch version the slice comes from; an older
	// version never replaces a newer one.
	Batch string
	Seq   int
	// MessageID and LogIndex lead back to the submission (lineage).
	MessageID string
	LogIndex  uint64
	// AppliedAt is when the platform applied it: the report's as-of time.
	AppliedAt time.Time
	Accounts  []FlowAccount
	Cells     []FlowCell
	Balances  []FlowBalance
}

// FlowAccount is an enterprise's account as its latest batch describes it.
// The account number itself is never stored: Key is a keyed digest of the
// institution and account number.
type FlowAccount struct {
	USCC, Inst, Key, Type, Currency string
	// OpenDate and CloseDate are YYYY-MM-DD; CloseDate is empty while open.
	OpenDate, CloseDate string
}

// FlowCell sums one enterprise's transactions of one day with one
// counterparty in one currency. Amounts are cents.
type FlowCell struct {
	USCC, Currency string
	// CpKey is a keyed digest identifying the counterparty (by USCC, else by
	// institution and account, else by name); CpAcctKey is the digest of the
	// counterparty account in the form of FlowAccount.Key, empty if unknown;
	// CpIsSelf is true when the counterparty's USCC is the enterprise's own.
	CpKey, CpAcctKey string
	CpIsSelf         bool
	Inflow, Outflow  int64
	InCount          int64
	OutCount         int64
	// Payroll, tax and utilities outflows (purposes SAL, TAX, UTL).
	SalOut, TaxOut, UtlOut int64
	// RoundIn is the inflow in amounts that are multiples of 10,000 yuan.
	RoundIn int64
}

// FlowBalance is an account's closing balance of the day, in cents. Master
// accounts of cash pools are flagged: reports leave them out.
type FlowBalance struct {
	USCC, AcctKey, Currency string
	CloseBal                int64
	Master                  bool
}

// FlowFacts is everything the store holds about one enterprise over a date
// range, from which a report is computed.
type FlowFacts struct {
	Accounts []FlowAccount
	// Cells and Balances carry their business date.
	Cells    []DatedFlowCell
	Balances []DatedFlowBalance
	// AsOf is the latest AppliedAt among the contributing days; zero when
	// nothing is known.
	AsOf time.Time
}

// DatedFlowCell is a FlowCell with its business date and institution.
type DatedFlowCell struct {
	Date, Inst string
	FlowCell
}

// DatedFlowBalance is a FlowBalance with its business date and institution.
type DatedFlowBalance struct {
	Date, Inst string
	FlowBalance
}

// FlowStore keeps the report aggregates.
type FlowStore interface {
	// ReplaceFlowDay atomically replaces the slice of (Inst, Date) with day,
	// unless a newer batch version is already applied (then it is a no-op
	// and returns false).
	ReplaceFlowDay(ctx context.Context, day *FlowDay) (bool, error)
	// FlowFacts returns what is known about uscc between from and to
	// (inclusive, YYYY-MM-DD).
	FlowFacts(ctx context.Context, uscc, from, to string) (*FlowFacts, error)
}
