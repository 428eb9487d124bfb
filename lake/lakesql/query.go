package lakesql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/lake"
)

// Request is one governed query.
type Request struct {
	// User is the staff member's name, Role their role's name.
	User string
	Role string
	// Tenant, when set, restricts every table to that institution's rows.
	Tenant string
	// AsOf, when set, answers from the lake as it was at that instant.
	AsOf time.Time
	// SQL is a single read-only SELECT over the views rrs.acct, rrs.txn,
	// rrs.bal, rrs.gl, rrs.stat, rrs.fxp, rrs.ctl (or their bare names).
	SQL string
	// MaxRows caps the rows returned; 0 means the engine's default.
	MaxRows int
}

// Result is a governed query's answer, as the lake API serves it.
type Result = ronghe.LakeResult

// Query runs one governed query: the role's masks and the tenant filter are
// built into the views, the statement must be a single read-only SELECT
// reading only those views, and it is logged — refused or not — before it
// runs. A refusal is an EFORBIDDEN error (EINVALID for SQL DuckDB cannot
// parse); a query that cannot be logged does not run.
func (e *Engine) Query(ctx context.Context, req Request) (*Result, error) {
	role, err := RoleByName(req.Role)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.User) == "" {
		return nil, ronghe.Errorf(ronghe.EINVALID, "a governed query needs the user's name")
	}
	if req.Tenant != "" {
		if err := checkTenant(req.Tenant); err != nil {
			return nil, err
		}
	}
	var st *lake.State
	if req.AsOf.IsZero() {
		st, err = e.lake.Current(ctx)
	} else {
		st, err = e.lake.AsOf(ctx, req.AsOf)
	}
	if err != nil {
		return nil, err
	}
	sess, err := e.Open(ctx, st, Views{Role: &role, Tenant: req.Tenant, Lockdown: true})
	if err != nil {
		return nil, err
	}
	defer sess.Close()

	entry := Entry{User: req.User, Role: role.Name, Tenant: req.Tenant, AsOf: req.AsOf, Statement: req.SQL, Decision: DecisionRun}
	refusal := CheckStatement(ctx, sess.DB, req.SQL, sess.Tables)
	if refusal != nil {
		entry.Decision, entry.Reason = DecisionRefused, ronghe.ErrorMessage(refusal)
	}
	id, err := e.log.Append(ctx, entry)
	if err != nil {
		return nil, err
	}
	if refusal != nil {
		return nil, refusal
	}
	max := req.MaxRows
	if max <= 0 {
		max = e.opts.MaxRows
	}
	res, err := collect(ctx, sess.DB, req.SQL, max)
	if err != nil {
		return nil, err
	}
	res.LogID, res.AsOf, res.Masked = id, req.AsOf, Masked(role, st.Tables)
	return res, nil
}

// CheckStatement returns nil when text is exactly one SELECT (with CTEs,
// set operations and subqueries) that reads only the given views or its own
// CTEs, calls no table function and names no other schema; otherwise an
// EFORBIDDEN error saying why (EINVALID when DuckDB cannot parse it). The
// statement is parsed by DuckDB itself (json_serialize_sql), which refuses
// every statement that is not a SELECT.
func CheckStatement(ctx context.Context, db *sql.DB, text string, views []string) error {
	if strings.TrimSpace(text) == "" {
		return ronghe.Errorf(ronghe.EINVALID, "empty statement")
	}
	var out string
	if err := db.QueryRowContext(ctx, "SELECT CAST(json_serialize_sql(CAST(? AS VARCHAR)) AS VARCHAR)", text).Scan(&out); err != nil {
		return ronghe.WrapError(ronghe.EINVALID, err, "the statement cannot be parsed")
	}
	var tree struct {
		Error        bool              `json:"error"`
		ErrorType    string            `json:"error_type"`
		ErrorMessage string            `json:"error_message"`
		Statements   []json.RawMessage `json:"statements"`
	}
	if err := json.Unmarshal([]byte(out), &tree); err != nil {
		return ronghe.WrapError(ronghe.EINTERNAL, err, "lakesql: parse tree")
	}
	if tree.Error {
		if strings.Contains(tree.ErrorMessage, "Only SELECT") {
			return ronghe.Errorf(ronghe.EFORBIDDEN, "only a single read-only SELECT is allowed")
		}
		return ronghe.Errorf(ronghe.EINVALID, "the statement cannot be parsed: %s", tree.ErrorMessage)
	}
	if len(tree.Statements) != 1 {
		return ronghe.Errorf(ronghe.EFORBIDDEN, "only a single read-only SELECT is allowed (got %d statements)", len(tree.Statements))
	}
	var root any
	if err := json.Unmarshal(tree.Statements[0], &root); err != nil {
		return ronghe.WrapError(ronghe.EINTERNAL, err, "lakesql: parse tree")
	}
	allowed := map[string]bool{}
	for _, v := range views {
		allowed[strings.ToLower(v)] = true
	}
	collectCTEs(root, allowed)
	return walk(root, allowed)
}

// collectCTEs adds the names of every common table expression in the tree.
func collectCTEs(n any, names map[string]bool) {
	switch v := n.(type) {
	case map[string]any:
		if cm, ok := v["cte_map"].(map[string]any); ok {
			if entries, ok := cm["map"].([]any); ok {
				for _, e := range entries {
					if m, ok := e.(map[string]any); ok {
						if k, ok := m["key"].(string); ok {
							names[strings.ToLower(k)] = true
						}
					}
				}
			}
		}
		for _, c := range v {
			collectCTEs(c, names)
		}
	case []any:
		for _, c := range v {
			collectCTEs(c, names)
		}
	}
}

// deniedFunctions are scalar functions that reveal the session's
// configuration or environment.
var deniedFunctions = map[string]bool{
	"current_setting": true, "getenv": true, "getvariable": true,
}

// walk refuses table functions, references to anything but the allowed
// relations, and denied functions anywhere in the tree.
func walk(n any, allowed map[string]bool) error {
	switch v := n.(type) {
	case map[string]any:
		switch v["type"] {
		case "TABLE_FUNCTION":
			name := ""
			if f, ok := v["function"].(map[string]any); ok {
				name, _ = f["function_name"].(string)
			}
			return ronghe.Errorf(ronghe.EFORBIDDEN, "table functions are not allowed (%s); query the views %s", name, viewList(allowed))
		case "BASE_TABLE":
			cat, _ := v["catalog_name"].(string)
			schema, _ := v["schema_name"].(string)
			name, _ := v["table_name"].(string)
			if cat != "" || (schema != "" && !strings.EqualFold(schema, Schema)) || !allowed[strings.ToLower(name)] {
				full := name
				if schema != "" {
					full = schema + "." + name
				}
				return ronghe.Errorf(ronghe.EFORBIDDEN, "%q is not a lake view; query %s", full, viewList(allowed))
			}
		}
		if v["class"] == "FUNCTION" {
			if name, _ := v["function_name"].(string); deniedFunctions[strings.ToLower(name)] {
				return ronghe.Errorf(ronghe.EFORBIDDEN, "function %s is not allowed", name)
			}
		}
		for _, c := range v {
			if err := walk(c, allowed); err != nil {
				return err
			}
		}
	case []any:
		for _, c := range v {
			if err := walk(c, allowed); err != nil {
				return err
			}
		}
	}
	return nil
}

func viewList(allowed map[string]bool) string {
	var names []string
	for _, n := range []string{"acct", "txn", "bal", "gl", "stat", "fxp", "ctl"} {
		if allowed[n] {
			names = append(names, Schema+"."+n)
		}
	}
	return strings.Join(names, ", ")
}

// collect runs q and returns at most max rows.
func collect(ctx context.Context, db *sql.DB, q string, max int) (*Result, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, queryError(err)
	}
	defer rows.Close()
	cols, err := rows.ColumnTypes()
	if err != nil {
		return nil, queryError(err)
	}
	res := &Result{Rows: [][]any{}}
	for _, c := range cols {
		res.Columns = append(res.Columns, c.Name())
		res.Types = append(res.Types, c.DatabaseTypeName())
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if len(res.Rows) == max {
			res.Truncated = true
			break
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, queryError(err)
		}
		row := make([]any, len(cols))
		for i, v := range vals {
			row[i] = normalize(v, res.Types[i])
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, queryError(err)
	}
	return res, nil
}

// queryError turns a DuckDB error into a caller-safe platform error: the
// query's own mistakes are EINVALID, cancellations keep their cause.
func queryError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i > 0 {
		msg = msg[:i]
	}
	return ronghe.WrapError(ronghe.EINVALID, err, "query failed: "+msg)
}

// normalize renders a DuckDB value for output: exact decimals, dates and
// times as text.
func normalize(v any, typ string) any {
	switch x := v.(type) {
	case nil:
		return nil
	case duckdb.Decimal:
		return formatDecimal(x.Value, int(x.Scale))
	case *big.Int:
		return x.String()
	case time.Time:
		switch {
		case typ == "DATE":
			return x.Format(time.DateOnly)
		case typ == "TIME":
			return x.Format(time.TimeOnly)
		case strings.HasPrefix(typ, "TIMESTAMP"):
			return x.Format(time.RFC3339Nano)
		}
		return x.Format(time.RFC3339Nano)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case []byte:
		return fmt.Sprintf("%x", x)
	}
	return v
}

// formatDecimal prints an unscaled value with exactly scale fraction
// digits.
func formatDecimal(unscaled *big.Int, scale int) string {
	s := new(big.Int).Abs(unscaled).String()
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if unscaled.Sign() < 0 {
		s = "-" + s
	}
	return s
}
