package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ronghe/ronghe/rrs"
)

// plan is a rule set compiled to SQL: the staged tables and the statements
// of one run, in the order they execute. Row checks of one record type are
// fused into a single query (one pass over the type's rows); views that
// several checks read are materialized once.
type plan struct {
	rs         *RuleSet
	tables     []*stagedTable // in spec order
	sequences  []*sequencePlan
	fieldRules map[string]fieldRule
	history    []compiledHistory
	views      []View
	objects    []sqlObject // views and history views in dependency order
	queries    []*compiledQuery
}

// sqlObject is a statement creating a named relation.
type sqlObject struct {
	name string
	sql  string
	deps []string
}

// compiledHistory is a history table's statements.
type compiledHistory struct {
	h      HistoryTable
	cols   []string // column names
	types  []string // column types
	create string   // CREATE TABLE IF NOT EXISTS hist_<name>
	view   string   // CREATE TEMP VIEW <name>_h: stored and run contributions
	remove string   // DELETE the stored versions the run replaces
	insert string   // INSERT the run's latest versions
}

// checkRef names the rule and check a query result belongs to.
type checkRef struct {
	rule    *Rule
	check   *Check
	typ     rrs.Type
	field   string // fixed field of row and unique checks
	message string
}

// compiledQuery is one statement whose rows are findings. Row queries
// return (batch, key, hits) with hits the indexes into refs of the checks a
// row fails; the others return batch, type, key, field [, message].
type compiledQuery struct {
	name string
	sql  string
	row  bool
	refs []checkRef
}

func compile(rs *RuleSet) (*plan, error) {
	p := &plan{rs: rs, fieldRules: map[string]fieldRule{}, views: rs.Views}
	used := rs.usedFields()
	for _, rt := range rs.spec.Types {
		p.tables = append(p.tables, newStagedTable(rt, used[rt.Type]))
	}
	for _, q := range rs.Sequences {
		p.sequences = append(p.sequences, newSequencePlan(q, rs.spec))
	}
	fieldIDs := []string{rrs.RuleMissing, rrs.RuleFormat, rrs.RuleUSCC, rrs.RuleResidentID, rrs.RuleISOCode, rrs.RuleEnum, rrs.RuleRange}
	rowChecks := map[rrs.Type][]checkRef{}
	for i := range rs.Rules {
		r := &rs.Rules[i]
		for j := range r.Checks {
			c := &r.Checks[j]
			msg := c.Message
			if msg == "" {
				msg = r.Title
			}
			ref := checkRef{rule: r, check: c, typ: c.Type, field: c.Field, message: msg}
			switch c.Kind {
			case KindField:
				if !slices.Contains(fieldIDs, r.ID) {
					return nil, fmt.Errorf("rule set: rule %s: a field check only reports the rrs field rules %s", r.ID, strings.Join(fieldIDs, ", "))
				}
				p.fieldRules[r.ID] = fieldRule{id: r.ID, severity: r.Severity}
			case KindRow:
				rowChecks[c.Type] = append(rowChecks[c.Type], ref)
			case KindUnique:
				q, err := p.uniqueQuery(ref)
				if err != nil {
					return nil, err
				}
				p.queries = append(p.queries, q)
			case KindQuery:
				p.queries = append(p.queries, &compiledQuery{name: r.ID + " query", sql: c.SQL, refs: []checkRef{ref}})
			case KindSample:
				// run by the server after acceptance, not on staged data
			}
		}
	}
	var rowQueries []*compiledQuery
	for _, rt := range rs.spec.Types {
		if refs := rowChecks[rt.Type]; len(refs) > 0 {
			rowQueries = append(rowQueries, rowQuery(rt, refs))
		}
	}
	p.queries = append(rowQueries, p.queries...)
	var objs []sqlObject
	for _, h := range rs.History {
		ch := compileHistory(h)
		p.history = append(p.history, ch)
		objs = append(objs, sqlObject{name: h.Name + "_h", sql: ch.view})
	}
	for _, v := range rs.Views {
		kind := "VIEW"
		if v.Materialize {
			kind = "TABLE"
		}
		objs = append(objs, sqlObject{name: v.Name, sql: fmt.Sprintf("CREATE OR REPLACE TEMP %s %s AS %s", kind, v.Name, v.SQL)})
	}
	ordered, err := dependencyOrder(objs)
	if err != nil {
		return nil, err
	}
	p.objects = ordered
	return p, nil
}

// dependencyOrder orders the objects so that each comes after the objects
// its SQL names, keeping the given order where it is free; a cycle is an
// error.
func dependencyOrder(objs []sqlObject) ([]sqlObject, error) {
	names := map[string]int{}
	for i, o := range objs {
		names[o.name] = i
	}
	for i := range objs {
		for _, w := range wordPattern.FindAllString(strings.ToLower(objs[i].sql), -1) {
			if j, ok := names[w]; ok && j != i && !slices.Contains(objs[i].deps, w) {
				objs[i].deps = append(objs[i].deps, w)
			}
		}
	}
	var out []sqlObject
	state := make([]int, len(objs)) // 0 new, 1 visiting, 2 done
	var visit func(i int, path []string) error
	visit = func(i int, path []string) error {
		switch state[i] {
		case 1:
			return fmt.Errorf("rule set: views depend on each other in a cycle: %s", strings.Join(append(path, objs[i].name), " → "))
		case 2:
			return nil
		}
		state[i] = 1
		for _, d := range objs[i].deps {
			if err := visit(names[d], append(path, objs[i].name)); err != nil {
				return err
			}
		}
		state[i] = 2
		out = append(out, objs[i])
		return nil
	}
	for i := range objs {
		if err := visit(i, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rowQuery fuses the row checks of one record type into one query.
func rowQuery(rt *rrs.RecordType, refs []checkRef) *compiledQuery {
	var joins []string
	var hits, conds []string
	for i, ref := range refs {
		for _, j := range ref.check.Join {
			if !slices.Contains(joins, j) {
				joins = append(joins, j)
			}
		}
		hits = append(hits, fmt.Sprintf("CASE WHEN (%s) THEN %d END", ref.check.When, i))
		conds = append(conds, "("+ref.check.When+")")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT b.batch, r._key AS key, list_filter([%s], x -> x IS NOT NULL) AS hits\n", strings.Join(hits, ", "))
	fmt.Fprintf(&b, "FROM %s r JOIN batches b ON b._batch = r._batch\n", relName(rt.Type))
	for _, j := range joins {
		b.WriteString(j + "\n")
	}
	fmt.Fprintf(&b, "WHERE %s", strings.Join(conds, "\n   OR "))
	return &compiledQuery{name: string(rt.Type) + " row checks", sql: b.String(), row: true, refs: refs}
}

// uniqueQuery finds the keys that occur in more than one row of a batch.
func (p *plan) uniqueQuery(ref checkRef) (*compiledQuery, error) {
	rt := p.rs.spec.Record(ref.typ)
	key := ref.check.Key
	if len(key) == 0 {
		key = rt.Key
	}
	if ref.field == "" {
		ref.field = key[0]
	}
	if slices.Equal(key, rt.Key) {
		// Staging marks every row whose key an earlier row of the file has.
		sql := fmt.Sprintf("SELECT DISTINCT b.batch, '%s' AS type, r._key AS key, '%s' AS field\nFROM %s r JOIN batches b ON b._batch = r._batch\nWHERE r._dup",
			rt.Type, ref.field, relName(rt.Type))
		return &compiledQuery{name: ref.rule.ID + " unique " + string(rt.Type), sql: sql, refs: []checkRef{ref}}, nil
	}
	var parts, nn []string
	for _, k := range key {
		f := rt.Field(k)
		expr := "r." + k
		switch kindOf(f) {
		case colDate:
			expr = "strftime(r." + k + ", '%Y-%m-%d')"
		case colMoney, colInt:
			expr = "CAST(r." + k + " AS VARCHAR)"
		}
		parts = append(parts, expr)
		nn = append(nn, "r."+k+" IS NOT NULL")
	}
	keyExpr, cond := strings.Join(parts, " || '|' || "), strings.Join(nn, " AND ")
	sql := fmt.Sprintf("SELECT b.batch, '%s' AS type, k.key, '%s' AS field\nFROM (SELECT r._batch, %s AS key FROM %s r WHERE %s GROUP BY ALL HAVING count(*) > 1) k\nJOIN batches b ON b._batch = k._batch",
		rt.Type, ref.field, keyExpr, relName(rt.Type), cond)
	return &compiledQuery{name: ref.rule.ID + " unique " + string(rt.Type), sql: sql, refs: []checkRef{ref}}, nil
}

func compileHistory(h HistoryTable) compiledHistory {
	ch := compiledHistory{h: h}
	for _, c := range h.Columns {
		name, typ, _ := strings.Cut(c, " ")
		ch.cols = append(ch.cols, name)
		ch.types = append(ch.types, strings.TrimSpace(typ))
	}
	var defs, stored, run, plain []string
	for i, c := range ch.cols {
		defs = append(defs, c+" "+ch.types[i])
		stored = append(stored, "s."+c)
		run = append(run, fmt.Sprintf("CAST(c.%s AS %s)", c, ch.types[i]))
		plain = append(plain, c)
	}
	ch.create = fmt.Sprintf("CREATE TABLE IF NOT EXISTS hist_%s (inst_code VARCHAR NOT NULL, business_date DATE NOT NULL, seq INTEGER NOT NULL, batch VARCHAR NOT NULL, %s)",
		h.Name, strings.Join(defs, ", "))
	ch.view = fmt.Sprintf(`CREATE OR REPLACE TEMP VIEW %[1]s_h AS
SELECT s.inst_code, s.business_date, s.seq, s.batch, CAST(NULL AS INTEGER) AS _batch, false AS from_run,
  r.sender IS NULL AS latest, %[2]s
FROM hist_%[1]s s LEFT JOIN (SELECT DISTINCT sender, business_date FROM batches) r
  ON r.sender = s.inst_code AND r.business_date = s.business_date
UNION ALL
SELECT b.sender, b.business_date, b.seq, b.batch, b._batch, true, b.latest, %[3]s
FROM (%[4]s) c JOIN batches b ON b._batch = c._batch`, h.Name, strings.Join(stored, ", "), strings.Join(run, ", "), h.SQL)
	ch.remove = fmt.Sprintf(`DELETE FROM hist_%[1]s USING (SELECT DISTINCT sender, business_date FROM batches) r
WHERE hist_%[1]s.inst_code = r.sender AND hist_%[1]s.business_date = r.business_date`, h.Name)
	ch.insert = fmt.Sprintf(`INSERT INTO hist_%[1]s (inst_code, business_date, seq, batch, %[2]s)
SELECT b.sender, b.business_date, b.seq, b.batch, %[3]s
FROM (%[4]s) c JOIN batches b ON b._batch = c._batch WHERE b.latest`, h.Name, strings.Join(plain, ", "), strings.Join(run, ", "), h.SQL)
	return ch
}

// sequencesOf returns the sequences computed from record type t.
func (p *plan) sequencesOf(t rrs.Type) []*sequencePlan {
	var out []*sequencePlan
	for _, q := range p.sequences {
		if q.Type == t {
			out = append(out, q)
		}
	}
	return out
}
