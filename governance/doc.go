// Package governance is the platform's quality loop (RRS-1 §3–§4): it checks
// every accepted submission in the background, decides each batch's outcome,
// tells the bank, tracks rectification, samples rows against the bank's
// source system, and scores institutions per month.
//
// # Checking
//
// Service.Stage is the first stage of the durable River pipeline
// (package pipeline). For a batch it decrypts the files into a private
// directory, runs the rule engine (package rules) against the history of the
// batches before it — one DuckDB file per deployment, checks serialised by a
// mutex and, across processes, by Config.Lock — and reads the files once
// more for the score's counts and the P01 sample. Then, in one store
// transaction, it records the outcome, the findings, the ticket transitions,
// the sample and the mailbox messages (an outbox), and delivers the messages
// after the commit. A rejected batch ends the job (pipeline.ErrSkipRest), so
// it never reaches the flow aggregates or the lake. The job's status and
// progress are in the store (BatchQuality) for GET /v1/batches/{id}/quality.
// One institution's batches are checked in (business date, seq) order:
// a batch waits (pipeline.Wait) while an earlier one it received is still to
// be checked, up to Config.MaxOrderWait (Service.turn).
//
// # Outcome
//
// A batch is rejected when it is structurally unusable: a required file is
// missing (ACCT, TXN, BAL, GL, CTL; STAT at month end), a file cannot be
// read to its end (header, encoding, size), or T01 finds a control-total
// mismatch, a file without its CTL row or a CTL row without its file.
// Otherwise it is accepted with warnings when it has any finding, else
// accepted. Findings open tickets whatever the outcome.
//
// # Tickets
//
// One ticket per finding identity without the seq — (institution, business
// date, rule, record type, key) — while it is not closed; later versions
// showing the finding join it. See ticket.go for the state machine:
// open → overdue (deadline passed, escalated) → closed (corrected by a later
// non-rejected version that no longer shows the finding, or, for a W
// finding, confirmed by the institution's signed note). Deadlines are
// Config.DeadlineDays business days (default 5) in Asia/Shanghai (Calendar).
//
// # Sampling (P01)
//
// Each usable batch gets the rules package's monetary-unit sample of its TXN
// rows (rules.Sample, 99 units), seeded by its content digest under a
// platform key (SampleSeed); a batch with no more rows than that is sampled
// whole. The bank answers with `ronghe submit --kind rrs.sample-answer
// --refers-to BATCH`; rules.CompareSample makes every sampled row that
// differs from the source copy a P01 finding; the sample passes when the
// one-sided Clopper–Pearson upper bound of the units on differing rows is at
// most the tolerable rate (the exact rate for a census, SampleVerdict). No
// answer by the deadline fails it.
//
// # Scores
//
// ComputeScore is RRS-1 §4's score per institution and month; Scores ranks
// the month's institutions (LeagueTable).
package governance
