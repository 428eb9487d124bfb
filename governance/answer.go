package governance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/pipeline"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/rules"
)

// processAnswer compares a sample answer with the rows sampled from the
// batch it refers to and decides the sample (RRS-1 §3.5 P01). An answer
// that answers no open sample is refused with a message.
func (s *Service) processAnswer(ctx context.Context, sub *ronghe.Submission, m *ronghe.Manifest) error {
	tenant, answer, ref := sub.Tenant, sub.MessageID, m.RefersTo
	for attempt := 1; ; attempt++ {
		ch, err := s.answerChange(ctx, sub, m)
		if err == nil && ch == nil {
			s.deliver(ctx, nil) // handled before: only messages may be owed
			return nil
		}
		if err == nil {
			err = s.store.ApplyQuality(ctx, ch)
		}
		if err == nil {
			ids := make([]int64, 0, len(ch.Outbox))
			for _, o := range ch.Outbox {
				ids = append(ids, o.ID)
			}
			s.deliver(ctx, ids)
			return nil
		}
		if ronghe.ErrorCode(err) != ronghe.ECONFLICT || attempt == 3 {
			return fmt.Errorf("governance: sample answer %s of %s to %s: %w", answer, tenant, ref, err)
		}
	}
}

// answerChange builds what an answer changes; nil when it was handled
// before.
func (s *Service) answerChange(ctx context.Context, sub *ronghe.Submission, m *ronghe.Manifest) (*ronghe.QualityChange, error) {
	now := s.now()
	tenant, answer, ref := sub.Tenant, sub.MessageID, m.RefersTo
	refuse := func(reason string) (*ronghe.QualityChange, error) {
		prior, err := s.store.ListOutbox(ctx, tenant, answer)
		if err != nil {
			return nil, err
		}
		if len(prior) > 0 {
			return nil, nil
		}
		return &ronghe.QualityChange{Outbox: []*ronghe.OutboxMessage{jsonMessage(tenant, KindAnswerRefused,
			"抽样答复未受理 sample answer "+answer+" refused", answer,
			&AnswerRefused{Type: TypeAnswerRefused, Answer: answer, RefersTo: ref, Reason: reason}, now)}}, nil
	}
	smp, err := s.store.FindSample(ctx, tenant, ref)
	if ronghe.ErrorCode(err) == ronghe.ENOTFOUND {
		return refuse("no P01 sample was drawn from " + ref)
	} else if err != nil {
		return nil, err
	}
	if smp.Answer == answer {
		return nil, nil
	}
	if smp.Status != ronghe.SampleRequested {
		return refuse(fmt.Sprintf("the sample of %s is %s; it takes no answer", ref, smp.Status))
	}
	id, err := rrs.ParseBatchID(ref)
	if err != nil {
		return refuse("refers_to is not a batch name")
	}
	ids := map[string]bool{}
	lines := map[int]string{}
	for _, r := range smp.Rows {
		ids[r.TxnID] = true
		lines[r.Line] = r.TxnID
	}
	src, err := s.readAnswer(ctx, sub, m, ids)
	if ronghe.ErrorCode(err) == ronghe.EINVALID {
		return refuse(ronghe.ErrorMessage(err))
	} else if err != nil {
		return nil, err
	}
	reported, err := s.sampledRows(ctx, tenant, ref, lines)
	if err != nil {
		return nil, err
	}
	rt := s.rs.Spec().Record(rrs.TXN)
	sampled := make([][]string, 0, len(smp.Rows))
	hits := map[string]int{}
	byKey := map[string][]string{}
	for _, r := range smp.Rows {
		sampled = append(sampled, reported[r.Line])
		hits[r.TxnID] += r.Hits
		byKey[r.TxnID] = reported[r.Line]
	}
	var copies [][]string
	for _, cs := range src {
		copies = append(copies, cs...)
	}
	diffs, err := rules.CompareSample(s.rs, id, sampled, copies)
	if ronghe.ErrorCode(err) == ronghe.EINVALID {
		return refuse(ronghe.ErrorMessage(err))
	} else if err != nil {
		return nil, err
	}
	ch := &ronghe.QualityChange{}
	book := newTicketBook(s, ch, now)
	var rows []RowMismatch
	k := 0
	for _, d := range diffs {
		f := record(tenant, d, answer, now)
		if err := book.record(ctx, tenant, id, f); err != nil {
			return nil, err
		}
		k += hits[d.Key]
		fields := []string{}
		if d.Field != "" && len(src[d.Key]) > 0 {
			fields = differing(rt, byKey[d.Key], src[d.Key][0])
		}
		rows = append(rows, RowMismatch{TxnID: d.Key, Fields: fields, Missing: d.Field == "", TicketID: f.TicketID})
	}
	book.finish()
	bound, pass := SampleVerdict(k, smp.Units, int64(smp.Units) == smp.Population, smp.Confidence, smp.TolerableRate)
	upd := *smp
	upd.Answer, upd.AnsweredAt, upd.Mismatches, upd.UpperBound, upd.DecidedAt, upd.Version = answer, sub.AcceptedAt, k, bound, &now, smp.Version+1
	switch {
	case sub.AcceptedAt.After(smp.DueAt):
		upd.Status, upd.Reason = ronghe.SampleFailed, "the answer arrived after the due date "+smp.DueDate
	case pass:
		upd.Status = ronghe.SamplePassed
		upd.Reason = fmt.Sprintf("%d of %d sampled rows differ (%d of %d units); upper bound %.4f ≤ tolerable rate %.2f", len(rows), len(smp.Rows), k, smp.Units, bound, smp.TolerableRate)
	default:
		upd.Status = ronghe.SampleFailed
		upd.Reason = fmt.Sprintf("%d of %d sampled rows differ (%d of %d units); upper bound %.4f > tolerable rate %.2f", len(rows), len(smp.Rows), k, smp.Units, bound, smp.TolerableRate)
	}
	ch.Samples = append(ch.Samples, &upd)
	ch.Outbox = append(ch.Outbox, sampleResult(&upd, rows, now))
	return ch, nil
}

func sampleResult(smp *ronghe.Sample, rows []RowMismatch, now time.Time) *ronghe.OutboxMessage {
	return jsonMessage(smp.Tenant, KindSampleResult, fmt.Sprintf("抽样核对结果 P01 sample of %s: %s", smp.Batch, smp.Status), smp.Batch,
		&SampleResult{Type: TypeSampleResult, Batch: smp.Batch, Answer: smp.Answer, Status: smp.Status, Size: len(smp.Rows), Units: smp.Units,
			Mismatches: smp.Mismatches, UpperBound: smp.UpperBound, TolerableRate: smp.TolerableRate, Reason: smp.Reason, Rows: rows}, now)
}

// sampledRows reads the reported TXN rows at the given lines of an accepted
// batch, straight from the encrypted store.
func (s *Service) sampledRows(ctx context.Context, tenant, batch string, lines map[int]string) (map[int][]string, error) {
	b, err := pipeline.OpenBatch(ctx, s.cfg.Submissions, s.cfg.Blobs, tenant, batch)
	if err != nil {
		return nil, err
	}
	rd, err := b.Open(rrs.TXN)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	iID := rd.Type().Index("txn_id")
	out := map[int][]string{}
	for len(out) < len(lines) {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *rrs.ParseError
			if errors.As(err, &pe) && pe.Recoverable() {
				continue
			}
			return nil, err
		}
		if want, ok := lines[row.Line]; ok {
			if row.Values[iID] != want {
				return nil, ronghe.Errorf(ronghe.EINTERNAL, "line %d of %s holds another txn_id than the sample recorded", row.Line, batch)
			}
			out[row.Line] = row.Values
		}
	}
	if len(out) != len(lines) {
		return nil, ronghe.Errorf(ronghe.EINTERNAL, "%s holds %d of the %d sampled rows", batch, len(out), len(lines))
	}
	return out, nil
}

// differing names the fields whose values differ, as rules.CompareSample
// compares them (exactly).
func differing(rt *rrs.RecordType, a, b []string) []string {
	var out []string
	for i := range rt.Fields {
		if a[i] != b[i] {
			out = append(out, rt.Fields[i].Name)
		}
	}
	return out
}
