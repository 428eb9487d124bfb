package gen

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// RegionFile is the content of region.json: who is who in the synthetic
// region. Tests, demos and the rule engine's fixtures read it to know the
// institutions' codes and each enterprise's accounts without parsing batches.
type RegionFile struct {
	Standard     string            `json:"standard"`
	Seed         int64             `json:"seed"`
	Start        string            `json:"start"`
	End          string            `json:"end"`
	Institutions []InstitutionInfo `json:"institutions"`
	Enterprises  []EnterpriseInfo  `json:"enterprises"`
}

// InstitutionInfo describes one reporting bank.
type InstitutionInfo struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Class    string `json:"class"`
	Division string `json:"division"`
	USCC     string `json:"uscc"`
}

// EnterpriseInfo describes one enterprise and its accounts.
type EnterpriseInfo struct {
	USCC          string        `json:"uscc"`
	Name          string        `json:"name"`
	Industry      string        `json:"industry"`
	IndustryName  string        `json:"industry_name"`
	Size          string        `json:"size"`
	Profile       string        `json:"profile"`
	Division      string        `json:"division"`
	Employees     int           `json:"employees"`
	AnnualRevenue string        `json:"annual_revenue"`
	Established   string        `json:"established"`
	HomeInst      string        `json:"home_inst"`
	Accounts      []AccountInfo `json:"accounts"`
}

// AccountInfo describes one account as planned for the whole period (its
// ACCT rows show the state of each day).
type AccountInfo struct {
	InstCode   string `json:"inst_code"`
	AcctNo     string `json:"acct_no"`
	Type       string `json:"acct_type"`
	Subject    string `json:"subject_code"`
	Currency   string `json:"currency"`
	Role       string `json:"role"`
	Parent     string `json:"parent_acct_no,omitempty"`
	OpenDate   string `json:"open_date"`
	CloseDate  string `json:"close_date,omitempty"`
	FrozenFrom string `json:"frozen_from,omitempty"`
	FrozenTo   string `json:"frozen_to,omitempty"`
}

var roleNames = [...]string{roleOperating: "operating", roleFX: "foreign_currency", roleWages: "migrant_wages",
	roleEscrow: "presale_escrow", roleProject: "project", roleTimeDeposit: "time_deposit", rolePoolMaster: "pool_master"}

var sizeNames = [...]string{sizeMicro, sizeSmall, sizeMedium, sizeLarge}

// writeRegionFile writes region.json, one enterprise at a time so that a
// region of millions of enterprises never has its whole document in memory.
// The result decodes into a RegionFile.
func writeRegionFile(path string, g *region) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return ronghe.WrapError(ronghe.EUNAVAILABLE, err, "gen: create region.json")
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = ronghe.WrapError(ronghe.EUNAVAILABLE, cerr, "gen: write region.json")
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	var werr error
	put := func(prefix, indent string, v any, suffix string) {
		if werr != nil {
			return
		}
		data, err := json.MarshalIndent(v, indent, "  ")
		if err != nil {
			werr = err
			return
		}
		bw.WriteString(prefix)
		bw.Write(data)
		bw.WriteString(suffix)
	}
	spec := rrs.Current()
	var insts []InstitutionInfo
	for i := range g.insts {
		in := &g.insts[i]
		insts = append(insts, InstitutionInfo{Code: in.code, Name: in.name, Class: in.class, Division: in.division, USCC: in.uscc})
	}
	bw.WriteString("{\n")
	put(`  "standard": `, "  ", spec.Standard+" "+spec.Version, ",\n")
	put(`  "seed": `, "  ", g.cfg.Seed, ",\n")
	put(`  "start": `, "  ", g.cfg.Start.String(), ",\n")
	put(`  "end": `, "  ", g.cfg.Start.AddDays(g.cfg.Days-1).String(), ",\n")
	put(`  "institutions": `, "  ", insts, ",\n")
	bw.WriteString(`  "enterprises": [`)
	for i := range g.ents {
		sep := ","
		if i == len(g.ents)-1 {
			sep = ""
		}
		put("\n    ", "    ", g.enterpriseInfo(i), sep)
	}
	bw.WriteString("\n  ]\n}\n")
	if werr == nil {
		werr = bw.Flush()
	}
	if werr != nil {
		return ronghe.WrapError(ronghe.EUNAVAILABLE, werr, "gen: write region.json")
	}
	return nil
}

func (g *region) enterpriseInfo(i int) EnterpriseInfo {
	e := &g.ents[i]
	ind := &industries[e.ind]
	ei := EnterpriseInfo{USCC: e.uscc, Name: e.name, Industry: ind.Code, IndustryName: ind.Name, Size: sizeNames[e.size],
		Profile: e.profile, Division: e.division, Employees: e.employees, AnnualRevenue: rrs.Amount(e.revenue).String(),
		Established: e.established.String(), HomeInst: g.insts[e.home].code}
	for _, a := range e.accts {
		ei.Accounts = append(ei.Accounts, g.accountInfo(a))
	}
	return ei
}

func (g *region) accountInfo(i int32) AccountInfo {
	a := &g.accts[i]
	ai := AccountInfo{InstCode: g.insts[a.inst].code, AcctNo: a.no, Type: string(a.typ), Subject: a.subject,
		Currency: a.currency, Role: roleNames[a.role], OpenDate: a.open.String()}
	if a.typ == '4' {
		ai.Role = roleNames[roleProject]
	}
	if a.parent >= 0 {
		ai.Parent = g.accts[a.parent].no
	}
	if a.closeDay != noDay {
		ai.CloseDate = a.close.String()
	}
	if a.freezeFrom != noDay {
		ai.FrozenFrom = g.dateOf(a.freezeFrom).String()
		if a.freezeTo != noDay {
			ai.FrozenTo = g.dateOf(a.freezeTo).String()
		}
	}
	return ai
}

// Finding is one line of truth/defects.jsonl: a finding the rule engine must
// report, identified as RRS-1 §3 says by rule, batch, record type and key.
// Field names the field where one applies. Cause names the rule whose
// injected defect produced the finding (a finding of another rule is a
// consequence, e.g. S03 after an L01 row drops out).
type Finding struct {
	Rule  string `json:"rule"`
	Batch string `json:"batch"`
	Type  string `json:"type"`
	Key   string `json:"key"`
	Field string `json:"field,omitempty"`
	Cause string `json:"cause"`
}

// truthWriter streams findings to defects.jsonl.
type truthWriter struct {
	f     *os.File
	bw    *bufio.Writer
	lines int
	path  string
}

func newTruthWriter(path string) (*truthWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "gen: create "+filepath.Base(path))
	}
	return &truthWriter{f: f, bw: bufio.NewWriter(f), path: path}, nil
}

func (tw *truthWriter) write(f Finding) error {
	data, err := json.Marshal(f)
	if err != nil {
		return ronghe.WrapError(ronghe.EINTERNAL, err, "gen: encode finding")
	}
	tw.lines++
	_, err = tw.bw.Write(append(data, '\n'))
	if err != nil {
		return ronghe.WrapError(ronghe.EUNAVAILABLE, err, "gen: write defects.jsonl")
	}
	return nil
}

func (tw *truthWriter) close() error {
	if tw.f == nil {
		return nil
	}
	err := tw.bw.Flush()
	if cerr := tw.f.Close(); err == nil {
		err = cerr
	}
	tw.f = nil
	if err != nil {
		return ronghe.WrapError(ronghe.EUNAVAILABLE, err, "gen: write defects.jsonl")
	}
	return nil
}

// abort closes the file after a failure (a no-op after close).
func (tw *truthWriter) abort() {
	if tw.f != nil {
		tw.f.Close()
		tw.f = nil
	}
}

// Label is one line of truth/labels.jsonl: ground truth about an enterprise,
// an account or a group of people, for the analytics and fraud work. Kind
// says which fields are set:
//
//   - "enterprise": USCC, Name, Profile, Industry, Size — every enterprise.
//   - "shell_account": a shell's account (round-amount inflows passed on
//     within hours); Clients and Destinations are USCCs.
//   - "mule_account": Ring, Role "mule" or "collector", the account, and the
//     ring's first and last active days (mules are frozen the day after
//     ActiveTo when that falls inside the period).
//   - "fx_ring": Ring, the Beneficiary, Members (person IDs) and Purchases.
//   - "cash_pool": the master account and its sub-accounts.
type Label struct {
	Kind         string         `json:"kind"`
	USCC         string         `json:"uscc,omitempty"`
	Name         string         `json:"name,omitempty"`
	Profile      string         `json:"profile,omitempty"`
	Industry     string         `json:"industry,omitempty"`
	Size         string         `json:"size,omitempty"`
	Ring         string         `json:"ring,omitempty"`
	Role         string         `json:"role,omitempty"`
	InstCode     string         `json:"inst_code,omitempty"`
	AcctNo       string         `json:"acct_no,omitempty"`
	ActiveFrom   string         `json:"active_from,omitempty"`
	ActiveTo     string         `json:"active_to,omitempty"`
	Clients      []string       `json:"clients,omitempty"`
	Destinations []string       `json:"destinations,omitempty"`
	Beneficiary  *Beneficiary   `json:"beneficiary,omitempty"`
	Members      []string       `json:"members,omitempty"`
	Purchases    []FXPurchase   `json:"purchases,omitempty"`
	SubAccounts  []string       `json:"sub_accounts,omitempty"`
	Extra        map[string]any `json:"extra,omitempty"`
}

// Beneficiary is the receiver of an FX ring's purchases.
type Beneficiary struct {
	Name    string `json:"name"`
	Acct    string `json:"acct"`
	Country string `json:"country"`
}

// FXPurchase is one purchase of an FX ring.
type FXPurchase struct {
	InstCode  string `json:"inst_code"`
	TxnID     string `json:"txn_id"`
	PersonID  string `json:"person_id"`
	Date      string `json:"date"`
	AmountUSD string `json:"amount_usd"`
}

func writeLabels(path string, g *region, s *sim) error {
	f, err := os.Create(path)
	if err != nil {
		return ronghe.WrapError(ronghe.EUNAVAILABLE, err, "gen: create labels.jsonl")
	}
	bw := bufio.NewWriter(f)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	put := func(l Label) {
		if err == nil {
			err = enc.Encode(l)
		}
	}
	for i := range g.ents {
		e := &g.ents[i]
		put(Label{Kind: "enterprise", USCC: e.uscc, Name: e.name, Profile: e.profile, Industry: industries[e.ind].Code, Size: sizeNames[e.size]})
	}
	for i := range g.ents {
		e := &g.ents[i]
		if e.profile != ProfileShell {
			continue
		}
		l := Label{Kind: "shell_account", USCC: e.uscc, InstCode: g.insts[g.accts[e.basic].inst].code, AcctNo: g.accts[e.basic].no}
		for _, c := range e.shellClients {
			l.Clients = append(l.Clients, g.ents[c].uscc)
		}
		for _, d := range e.shellDest {
			l.Destinations = append(l.Destinations, g.ents[d].uscc)
		}
		if e.collector >= 0 {
			l.Role = "collector"
		}
		put(l)
	}
	for ri := range g.mules {
		ring := &g.mules[ri]
		name := "MR" + string(appendPadded(nil, int64(ri+1), 3))
		from, to := g.dateOf(ring.startDay).String(), g.dateOf(ring.endDay-1).String() // last active day
		accts := append([]int32{ring.collector}, ring.mules...)
		for k, a := range accts {
			am := &g.accts[a]
			role := "mule"
			if k == 0 {
				role = "collector"
			}
			put(Label{Kind: "mule_account", Ring: name, Role: role, USCC: g.ents[am.owner].uscc, InstCode: g.insts[am.inst].code,
				AcctNo: am.no, ActiveFrom: from, ActiveTo: to})
		}
	}
	for ri := range g.rings {
		ring := &g.rings[ri]
		l := Label{Kind: "fx_ring", Ring: "FX" + string(appendPadded(nil, int64(ri+1), 3)),
			Beneficiary: &Beneficiary{Name: ring.bene.name, Acct: ring.bene.acct, Country: ring.bene.country},
			Extra:       map[string]any{"purpose": ring.purpose, "currency": ring.currency}}
		for _, m := range ring.members {
			l.Members = append(l.Members, g.personAt(m).id)
		}
		for _, p := range s.ringTxns[ri] {
			l.Purchases = append(l.Purchases, FXPurchase{InstCode: p.Inst, TxnID: p.TxnID, PersonID: p.PersonID, Date: p.Date.String(),
				AmountUSD: rrs.Amount(p.AmountUSD).String()})
		}
		put(l)
	}
	for _, p := range g.pools {
		m := &g.accts[p.master]
		l := Label{Kind: "cash_pool", USCC: g.ents[p.head].uscc, InstCode: g.insts[m.inst].code, AcctNo: m.no}
		for _, sub := range p.subs {
			l.SubAccounts = append(l.SubAccounts, g.accts[sub].no)
		}
		put(l)
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return ronghe.WrapError(ronghe.EUNAVAILABLE, err, "gen: write labels.jsonl")
	}
	return nil
}
