package gen

import (
	"slices"
	"strconv"
	"strings"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// instClasses names the institution classes of makeInstCode, cycled through
// so that a region always has a mix.
var instClasses = []struct {
	digit      int
	name, form string
}{
	{2, "joint-stock commercial bank", "银行股份有限公司"},
	{3, "city commercial bank", "银行股份有限公司"},
	{1, "large state-owned commercial bank", "银行股份有限公司"},
	{4, "rural commercial bank", "农村商业银行股份有限公司"},
	{5, "foreign-funded bank", "银行（中国）有限公司"},
}

// bankBrands are fictitious bank names (two characters each).
var bankBrands = []string{"融和", "恒通", "嘉信", "汇远", "鼎盛", "泰和", "宏润", "百川", "致远", "德丰",
	"锦华", "明泰", "瑞祥", "粤信", "海晟", "珠江", "南岭", "星河", "裕隆", "华泽"}

// buildRegion creates the region's static structure: institutions,
// enterprises with their accounts and trade network, cash pools, mule rings,
// FX rings and the outside world. It draws only from streams derived from
// cfg.Seed, so it is deterministic.
func buildRegion(cfg Config) (*region, error) {
	g := &region{cfg: cfg, extByKnd: map[extKind][]int32{}, taxOf: map[string]int32{}, cityExt: map[string][5]int32{}}
	g.dates = make([]rrs.Date, cfg.Days)
	for t := range g.dates {
		g.dates[t] = cfg.Start.AddDays(t)
	}
	r := deriveRNG(cfg.Seed, tagRegion)
	g.instW = instWeights(cfg.Institutions)
	if err := g.buildInstitutions(&r); err != nil {
		return nil, err
	}
	if err := g.buildOutside(&r); err != nil {
		return nil, err
	}
	if err := g.buildEnterprises(&r); err != nil {
		return nil, err
	}
	g.buildPools(&r)
	g.buildLifecycle(&r)
	g.buildMuleRings()
	g.sortAccounts()
	g.buildNetwork(&r)
	g.buildPeople(&r)
	return g, nil
}

func (g *region) dayOf(d rrs.Date) int32 { return int32(d.DaysSince(g.cfg.Start)) }

func (g *region) dateOf(t int32) rrs.Date { return g.cfg.Start.AddDays(int(t)) }

// instWeight makes the first banks bigger than the last, as in any region.
func instWeights(n int) []int {
	w := make([]int, n)
	for i := range w {
		w[i] = 1 + 2*(n-i)
	}
	return w
}

func (g *region) buildInstitutions(r *rng) error {
	n := g.cfg.Institutions
	used := map[string]bool{}
	for i := 0; i < n; i++ {
		cls := instClasses[i%len(instClasses)]
		div := regionDivisions[[]int{3, 11, 1, 12, 4}[i%5]].division
		brand := bankBrands[i%len(bankBrands)]
		if i >= len(bankBrands) {
			brand = string(tradeFirst[r.intn(len(tradeFirst))]) + string(tradeSecond[r.intn(len(tradeSecond))])
		}
		name := brand + cls.form + strings.TrimSuffix(div.City, "市") + "分行"
		for used[name] {
			brand = string(tradeFirst[r.intn(len(tradeFirst))]) + string(tradeSecond[r.intn(len(tradeSecond))])
			name = brand + cls.form + strings.TrimSuffix(div.City, "市") + "分行"
		}
		used[name] = true
		uscc, err := makeUSCC(usccEnterprise, div.Code, r.randomOrgBody(false))
		if err != nil {
			return err
		}
		g.insts = append(g.insts, instModel{
			code:       makeInstCode(cls.digit, div.Code, i+1),
			name:       name,
			uscc:       uscc,
			division:   div.Code,
			class:      cls.name,
			acctPrefix: 40000 + i*53,
		})
	}
	return nil
}

func (g *region) addExt(p extParty) int32 {
	g.ext = append(g.ext, p)
	id := int32(len(g.ext) - 1)
	g.extByKnd[p.kind] = append(g.extByKnd[p.kind], id)
	return id
}

// outsideAccount draws an account number of an out-of-region bank: 16 to 19
// digits with a Luhn check digit.
func (r *rng) outsideAccount() string {
	n := 15 + r.intn(4)
	b := make([]byte, n, n+1)
	b[0] = byte('1' + r.intn(9))
	for i := 1; i < n; i++ {
		b[i] = byte('0' + r.intn(10))
	}
	return string(append(b, luhnDigit(b)))
}

// cardNumber draws a UnionPay debit card number (BIN 62, 19 digits).
func (r *rng) cardNumber() string {
	b := []byte("62")
	for len(b) < 18 {
		b = append(b, byte('0'+r.intn(10)))
	}
	return string(append(b, luhnDigit(b)))
}

// foreignAccount draws an IBAN-like account number of a foreign bank.
func (r *rng) foreignAccount(country string) string {
	b := []byte(country)
	b = appendPadded(b, int64(r.intn(100)), 2)
	for i := 0; i < 14; i++ {
		b = append(b, byte('0'+r.intn(10)))
	}
	return string(b)
}

var foreignWords1 = []string{"PACIFIC", "GLOBAL", "ORIENT", "NORTHSTAR", "BLUE OCEAN", "SILVERLINE", "EVERGREEN", "HARBOUR", "SUMMIT", "MERIDIAN", "ATLAS", "BRIGHTWAY"}
var foreignWords2 = []string{"TRADING", "IMPORTS", "ELECTRONICS", "SUPPLY", "HOLDINGS", "LOGISTICS", "RETAIL", "DISTRIBUTION"}
var foreignForms = []struct{ form, country string }{
	{"LTD", "HK"}, {"LLC", "US"}, {"INC", "US"}, {"GMBH", "DE"}, {"PTE LTD", "SG"}, {"PTY LTD", "AU"}, {"LTD", "GB"}, {"BV", "NL"}, {"CO LTD", "JP"},
}

func (g *region) buildOutside(r *rng) error {
	// Each bank's internal accounts.
	kinds := [nInternal]string{"贷款本金户", "贷款利息收入户", "存款利息支出户", "代发工资过渡户", "银行卡收单清算户", "结售汇专户", "现金业务过渡户"}
	for i := range g.insts {
		in := &g.insts[i]
		for k := 0; k < nInternal; k++ {
			b := appendPadded(nil, int64(in.acctPrefix), 5)
			b = append(b, "99999"...)
			b = appendPadded(b, int64(k+1), 9)
			b = append(b, luhnDigit(b))
			in.internal[k] = g.addExt(extParty{name: in.name + kinds[k], acct: string(b), uscc: in.uscc, instCode: in.code, kind: extBank})
		}
	}
	// Public bodies and utilities per division and city.
	cities := map[string]bool{}
	for _, d := range regionDivisions {
		div := d.division
		taxName := "国家税务总局" + div.City + div.District + "税务局"
		if div.District == "" {
			taxName = "国家税务总局" + div.City + "税务局"
		}
		uscc, err := makeUSCC(usccGovernment, div.Code, r.randomOrgBody(false))
		if err != nil {
			return err
		}
		g.taxOf[div.Code] = g.addExt(extParty{name: taxName, acct: "27" + div.Code + "0000000001", uscc: uscc, kind: extTax})
		if cities[div.City] {
			continue
		}
		cities[div.City] = true
		city := strings.TrimSuffix(div.City, "市")
		var ids [5]int32
		specs := []struct {
			name, prefix string
			kind         extKind
		}{
			{city + "住房公积金管理中心", usccPublicInst, extHousingFund},
			{city + "供电局", usccEnterprise, extPower},
			{city + "自来水有限公司", usccEnterprise, extWater},
			{"中国电信股份有限公司" + city + "分公司", usccEnterprise, extTelecom},
		}
		for k, s := range specs {
			uscc, err := makeUSCC(s.prefix, div.Code, r.randomOrgBody(false))
			if err != nil {
				return err
			}
			ids[k] = g.addExt(extParty{name: s.name, acct: r.outsideAccount(), uscc: uscc, kind: s.kind})
		}
		ids[4] = g.taxOf[div.Code]
		g.cityExt[div.City] = ids
	}
	// Out-of-region companies: customers, suppliers, shell counterparties.
	nComp := 40 + g.cfg.Enterprises/4
	if nComp > 50000 {
		nComp = 50000
	}
	names := map[string]bool{}
	for i := 0; i < nComp; i++ {
		div := outsideDivisions[r.intn(len(outsideDivisions))]
		ind := &industries[r.intn(len(industries))]
		var name string
		for try := 0; ; try++ {
			name = div.City + string(tradeFirst[r.intn(len(tradeFirst))]) + string(tradeSecond[r.intn(len(tradeSecond))]) +
				ind.Words[r.intn(len(ind.Words))] + "有限公司"
			if try > 20 {
				name = div.City + strconv.Itoa(i) + ind.Words[0] + "有限公司"
			}
			if !names[name] {
				break
			}
		}
		names[name] = true
		uscc, err := makeUSCC(usccEnterprise, div.Code, r.randomOrgBody(r.chance(600)))
		if err != nil {
			return err
		}
		g.addExt(extParty{name: name, acct: r.outsideAccount(), uscc: uscc, kind: extCompany})
	}
	for i := 0; i < 30; i++ {
		f := foreignForms[r.intn(len(foreignForms))]
		name := foreignWords1[r.intn(len(foreignWords1))] + " " + foreignWords2[r.intn(len(foreignWords2))] + " " + f.form
		g.addExt(extParty{name: name, acct: r.foreignAccount(f.country), kind: extForeign})
	}
	nPers := 100 + g.cfg.Enterprises/5
	if nPers > 50000 {
		nPers = 50000
	}
	for i := 0; i < nPers; i++ {
		name, _ := r.personName()
		g.addExt(extParty{name: name, acct: r.cardNumber(), kind: extPerson})
	}
	return nil
}

// personName draws a Chinese name and its pinyin ("陈嘉怡", "CHEN JIAYI").
func (r *rng) personName() (string, string) {
	s := surnames[r.pick(surnameWeights)]
	return r.givenName(s.Han, s.Pinyin)
}

func (r *rng) givenName(sur, surPinyin string) (string, string) {
	g1 := givenChars[r.intn(len(givenChars))]
	name, py := sur+g1.Han, surPinyin+" "+g1.Pinyin
	if r.chance(650) {
		g2 := givenChars[r.intn(len(givenChars))]
		name += g2.Han
		py += g2.Pinyin
	}
	return name, py
}

func (g *region) regionDivision(r *rng) division {
	return regionDivisions[r.pick(divisionWeights)].division
}

// Read-only weight tables for rng.pick, derived once from the vocabularies.
var (
	surnameWeights = func() []int {
		w := make([]int, len(surnames))
		for i := range surnames {
			w[i] = surnames[i].Weight
		}
		return w
	}()
	divisionWeights = func() []int {
		w := make([]int, len(regionDivisions))
		for i := range regionDivisions {
			w[i] = regionDivisions[i].weight
		}
		return w
	}()
)

// newAccount appends an account (numbers are assigned by sortAccounts).
func (g *region) newAccount(a acctModel) int32 {
	if a.closeDay == 0 {
		a.closeDay = noDay
	}
	if a.freezeFrom == 0 && a.freezeTo == 0 {
		a.freezeFrom, a.freezeTo = noDay, noDay
	}
	a.parent = -1
	g.accts = append(g.accts, a)
	id := int32(len(g.accts) - 1)
	e := &g.ents[a.owner]
	e.accts = append(e.accts, id)
	if a.role == roleOperating && a.currency == "CNY" {
		e.cny = append(e.cny, id)
	}
	if a.role == roleFX {
		e.fx = append(e.fx, id)
	}
	return id
}

func (g *region) buildEnterprises(r *rng) error {
	n := g.cfg.Enterprises
	days := int32(g.cfg.Days)
	// Roles: shells and mules are a small share, as in real portfolios.
	nRings, nShell := roleCounts(n)
	ringSizes := []int{}
	for i := 0; i < nRings; i++ {
		ringSizes = append(ringSizes, 4+r.intn(4))
	}
	nMule := 0
	for _, s := range ringSizes {
		nMule += s
	}
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := r.intn(i + 1)
		perm[i], perm[j] = perm[j], perm[i]
	}
	profileOf := make([]string, n)
	for k, e := range perm {
		switch {
		case k < nShell:
			profileOf[e] = ProfileShell
		case k < nShell+nMule:
			profileOf[e] = ProfileMule
		}
	}
	// Mule rings get their members in order of perm.
	k := nShell
	for _, s := range ringSizes {
		ring := muleRing{collector: int32(perm[len(g.mules)%max(1, nShell)])}
		for j := 0; j < s; j++ {
			ring.mules = append(ring.mules, int32(perm[k])) // enterprise ids for now
			k++
		}
		ring.startDay = int32(r.intn(int(max(1, days-7))))
		ring.endDay = ring.startDay + 5 + int32(r.intn(15))
		g.mules = append(g.mules, ring)
	}
	muleOf := map[int32]int32{}
	collectorOf := map[int32]int32{}
	for i, ring := range g.mules {
		for _, m := range ring.mules {
			muleOf[m] = int32(i)
		}
		collectorOf[ring.collector] = int32(i)
	}

	instW := instWeights(len(g.insts))
	indW := make([]int, len(industries))
	for i := range industries {
		indW[i] = industries[i].Weight
	}
	sizeW := make([]int, len(sizeClasses))
	for i := range sizeClasses {
		sizeW[i] = sizeClasses[i].Weight
	}
	names := map[string]bool{}
	g.ents = make([]entModel, n)
	start := g.cfg.Start
	normalSeen := 0
	// In a region long enough for RRS-1 C06 (more than 7 days) every bank
	// gets at least minCustomers ordinary enterprises established before
	// the start (not shells or mules, which are quiet for days, and not new
	// registrations, which start mid-period): once the enterprises left are
	// just enough to make up the banks' shortfall, each one goes to the
	// bank furthest below it and is not a new registration (each
	// enterprise draws from its own stream, so the others are unchanged).
	// Regions whose banks reach the floor by the weighted draw alone are
	// unaffected.
	customers := make([]int, len(g.insts))
	ordinaryLeft := 0
	for _, p := range profileOf {
		if p == "" {
			ordinaryLeft++
		}
	}
	shortfall := func() (total, bank int) {
		bank = -1
		for b, c := range customers {
			if c < minCustomers {
				total += minCustomers - c
				if bank < 0 || c < customers[bank] {
					bank = b
				}
			}
		}
		return total, bank
	}
	for i := 0; i < n; i++ {
		er := deriveRNG(g.cfg.Seed, tagEnterprise, uint64(i))
		forceHome := -1
		if profileOf[i] == "" {
			if need, b := shortfall(); days > 7 && need >= ordinaryLeft {
				forceHome = b
			}
			ordinaryLeft--
		}
		e := &g.ents[i]
		e.mule, e.collector, e.group, e.paysShell, e.wages, e.escrow, e.td = -1, -1, -1, -1, -1, -1, -1
		e.profile = profileOf[i]
		switch e.profile {
		case ProfileShell:
			e.ind = industryIndex([]string{indBusinessSvc, indWholesale, indIT}[er.intn(3)])
			e.size = 0
		case ProfileMule:
			e.ind = industryIndex([]string{indWholesale, indIT, indBusinessSvc, indRetail}[er.intn(4)])
			e.size = 0
			e.mule = muleOf[int32(i)]
		default:
			e.ind = er.pick(indW)
			e.size = er.pick(sizeW)
			if n >= 30 && normalSeen < len(industries) {
				// Regions of 30 or more enterprises have every industry, so
				// that every kind of account and flow appears in them.
				e.ind = normalSeen
				e.size = max(e.size, 1)
			}
			normalSeen++
			ind := &industries[e.ind]
			switch {
			case ind.Seasonal != seasonNone && er.chance(400):
				e.profile = ProfileSeasonal
			default:
				w := []int{55, 25, 20}
				if ind.Code == indIT {
					w = []int{40, 45, 15}
				} else if ind.Code == indRealEstate {
					w = []int{40, 10, 50}
				}
				e.profile = []string{ProfileSteady, ProfileGrowing, ProfileDeclining}[er.pick(w)]
			}
		}
		if c, ok := collectorOf[int32(i)]; ok {
			e.collector = c
		}
		sc := &sizeClasses[e.size]
		switch e.profile {
		case ProfileGrowing:
			e.trendPermille = er.between(300, 800)
		case ProfileDeclining:
			e.trendPermille = -er.between(200, 500)
		case ProfileSteady:
			e.trendPermille = er.between(-50, 80)
		}
		div := g.regionDivision(&er)
		e.division, e.city = div.Code, div.City
		// Size: skew towards the lower end of each class.
		u := int64(er.intn(1000))
		e.employees = sc.MinEmp + int(int64(sc.MaxEmp-sc.MinEmp)*u*u/1_000_000)
		u = int64(er.intn(1000))
		e.revenue = (sc.MinRevYuan + (sc.MaxRevYuan-sc.MinRevYuan)*u*u/1_000_000) * 100
		// Establishment date.
		var ageDays int64
		switch {
		case e.profile == ProfileMule:
			ageDays = int64(g.mules[e.mule].startDay) + er.between(30, 180)
		case e.profile == ProfileShell:
			ageDays = er.between(60, 720)
		case e.size == 3:
			ageDays = er.between(12*365, 30*365)
		case e.size == 2:
			ageDays = er.between(6*365, 25*365)
		case e.size == 1:
			ageDays = er.between(2*365, 16*365)
		default:
			ageDays = er.between(200, 10*365)
		}
		e.established = start.AddDays(-int(ageDays))
		if e.profile != ProfileShell && e.profile != ProfileMule && days >= 10 && er.chance(25) && forceHome < 0 {
			// A new enterprise: registered during the period, opens its
			// basic account then and starts with its paid-in capital.
			e.startDay = 1 + int32(er.intn(int(days-1)))
			e.established = start.AddDays(int(e.startDay) - int(er.between(3, 15)))
			e.trendPermille = er.between(500, 1500)
			e.profile = ProfileGrowing
		}
		modern := !e.established.Before(rrs.Date{Y: 2015, M: 10, D: 1})
		uscc, err := makeUSCC(usccEnterprise, e.division, er.randomOrgBody(modern))
		if err != nil {
			return err
		}
		e.uscc = uscc
		e.name = g.enterpriseName(&er, e, names)
		names[e.name] = true
		e.home = int32(er.pick(instW))
		if forceHome >= 0 {
			e.home = int32(forceHome)
		}
		if profileOf[i] == "" && e.startDay == 0 {
			customers[e.home]++
		}
		// Calendar of the month.
		e.payday = int8(10 + er.intn(6))
		e.vatDay = int8(8 + er.intn(8))
		e.siDay = int8(15 + er.intn(8))
		e.hpfDay = int8(5 + er.intn(6))
		e.powerDay = int8(3 + er.intn(10))
		e.waterDay = int8(10 + er.intn(10))
		e.telDay = int8(18 + er.intn(8))
		if err := g.buildAccounts(&er, int32(i)); err != nil {
			return err
		}
	}
	return nil
}

// enterpriseName builds a unique Chinese company name such as
// 广州市天河区华盛贸易有限公司.
func (g *region) enterpriseName(r *rng, e *entModel, used map[string]bool) string {
	ind := &industries[e.ind]
	var d division
	for _, rd := range regionDivisions {
		if rd.Code == e.division {
			d = rd.division
		}
	}
	form := "有限公司"
	if e.size == 3 {
		form = []string{"股份有限公司", "集团有限公司", "有限公司"}[r.intn(3)]
	}
	for try := 0; ; try++ {
		trade := string(tradeFirst[r.intn(len(tradeFirst))]) + string(tradeSecond[r.intn(len(tradeSecond))])
		if try > 30 {
			trade += string(tradeSecond[r.intn(len(tradeSecond))]) + string(tradeFirst[r.intn(len(tradeFirst))])
		}
		place := d.City + d.District
		if r.chance(300) {
			place = d.City // many companies register without the district
		}
		name := place + trade + ind.Words[r.intn(len(ind.Words))] + form
		if !used[name] {
			return name
		}
	}
}

// pickOther returns a random institution other than not (or not itself when
// there is only one).
func (g *region) pickOther(r *rng, not int32) int32 {
	n := len(g.insts)
	if n == 1 {
		return not
	}
	i := int32(r.intn(n - 1))
	if i >= not {
		i++
	}
	return i
}

// roundTo rounds v down to a multiple of unit (at least one unit).
func roundTo(v, unit int64) int64 {
	if v < unit {
		return unit
	}
	return v / unit * unit
}

func (g *region) buildAccounts(r *rng, ei int32) error {
	e := &g.ents[ei]
	sc := &sizeClasses[e.size]
	ind := &industries[e.ind]
	days := int32(g.cfg.Days)
	dayRev := e.revenue / 365
	openBefore := func(min int64) int32 {
		// Opened some time between establishment and the start.
		age := int64(-g.dayOf(e.established))
		if age <= min {
			return -int32(min)
		}
		return -int32(r.between(min, age))
	}
	basicOpen := openBefore(1)
	if e.profile != ProfileShell && e.profile != ProfileMule {
		basicOpen = -int32(max(1, int64(-g.dayOf(e.established))-r.between(3, 30)))
	}
	if e.startDay > 0 {
		basicOpen = e.startDay
	}
	initBasic := r.jitter(dayRev * 20)
	switch e.profile {
	case ProfileShell:
		initBasic = r.between(5_000_00, 50_000_00) * 10
	case ProfileMule:
		initBasic = r.between(0, 3_000_00)
	}
	if e.startDay > 0 {
		initBasic = 0
	}
	e.basic = g.newAccount(acctModel{inst: e.home, owner: ei, typ: '1', subject: "D01", currency: "CNY",
		role: roleOperating, openDay: basicOpen, initBal: initBasic})
	if e.profile == ProfileShell || e.profile == ProfileMule {
		return nil
	}
	// General accounts at other banks, for collections and loans there.
	for k := r.intn(sc.GeneralAccounts + 1); k > 0; k-- {
		open := openBefore(30)
		if e.startDay > 0 {
			open = e.startDay + int32(r.intn(int(days-e.startDay)))
		} else if days >= 5 && r.chance(80) {
			open = 1 + int32(r.intn(int(days-1)))
		}
		init := r.jitter(dayRev * 5)
		if open > 0 {
			init = 0
		}
		g.newAccount(acctModel{inst: g.pickOther(r, e.home), owner: ei, typ: '2', subject: "D01", currency: "CNY",
			role: roleOperating, openDay: open, initBal: init})
	}
	// Foreign-currency accounts of exporters.
	if e.size >= 1 && e.startDay == 0 && (r.chance(ind.ExporterPermille) || !g.hasFX && ind.Code == indManufacture) {
		g.hasFX = true
		ccys := []string{"USD"}
		if r.chance(300) {
			ccys = append(ccys, []string{"EUR", "HKD"}[r.intn(2)])
		}
		for _, c := range ccys {
			g.newAccount(acctModel{inst: e.home, owner: ei, typ: '2', subject: "D01", currency: c,
				role: roleFX, openDay: openBefore(30), initBal: convert(r.jitter(dayRev*10), "CNY", c)})
		}
	}
	// Special-purpose accounts.
	switch ind.Code {
	case indConstruction:
		e.wages = g.newAccount(acctModel{inst: e.home, owner: ei, typ: '3', subject: "D03", currency: "CNY",
			role: roleWages, openDay: max(openBefore(30), basicOpen), initBal: 0})
		if r.chance(500) || !g.hasTemp {
			// A temporary account for a project away from home.
			open := int32(r.between(-60, int64(days)-2))
			if !g.hasTemp && days >= 6 && e.startDay == 0 {
				// The region's first one opens and closes inside the period.
				open = 1 + int32(r.intn(int(days/3)))
				g.hasTemp = true
			}
			if e.startDay > 0 && open < e.startDay {
				open = e.startDay
			}
			closeDay := open + int32(r.between(15, 90))
			if open > 0 && open < days/3+1 && closeDay >= days {
				closeDay = open + 1 + int32(r.intn(int(days-open-1)))
			}
			if closeDay <= 0 {
				open, closeDay = 1, int32(r.between(2, int64(max(3, days))))
			}
			if open < days {
				// An account opened on the region's first day starts empty,
				// like any account opened during the period (RRS-1 C01).
				init := int64(0)
				if open < 0 {
					init = r.jitter(dayRev * 5)
				}
				g.newAccount(acctModel{inst: g.pickOther(r, e.home), owner: ei, typ: '4', subject: "D01", currency: "CNY",
					role: roleOperating, openDay: open, closeDay: closeDay, initBal: init})
			}
		}
	case indRealEstate:
		e.escrow = g.newAccount(acctModel{inst: e.home, owner: ei, typ: '3', subject: "D03", currency: "CNY",
			role: roleEscrow, openDay: openBefore(30), initBal: r.jitter(dayRev * 30)})
	}
	// Time deposit.
	if e.startDay == 0 && r.chance(sc.TimeDepositPermill) {
		term := []int32{91, 182, 365}[r.intn(3)]
		open := -int32(r.between(1, int64(term)-1))
		if days >= 5 && r.chance(250) {
			open = 1 + int32(r.intn(int(days-1)))
		}
		principal := roundTo(e.revenue/12*r.between(10, 40)/100, 1_000_000)
		init, fund := principal, int64(0)
		if open > 0 {
			init, fund = 0, principal
		}
		e.td = g.newAccount(acctModel{inst: e.home, owner: ei, typ: '2', subject: "D02", currency: "CNY",
			role: roleTimeDeposit, openDay: open, closeDay: open + term, initBal: init, fund: fund, tdRateBP: timeRateBP})
	}
	// Working-capital loan.
	if r.chance(sc.LoanPermille) {
		l := &e.loan
		l.principal = roundTo(e.revenue*r.between(10, 30)/100, 1_000_000)
		l.drawDay = -int32(r.between(1, 360))
		if e.startDay > 0 {
			l.drawDay = e.startDay + int32(r.intn(int(days-e.startDay)))
		} else if days >= 5 && r.chance(200) {
			l.drawDay = 1 + int32(r.intn(int(days-1)))
		}
		drawDate := g.dateOf(l.drawDay)
		l.maturityDay = g.dayOf(rrs.Date{Y: drawDate.Y + 1, M: drawDate.M, D: min(drawDate.D, 28)})
		l.rateBP = lprOn(drawDate) + r.between(0, 120)
		l.renew = r.chance(700)
		if l.drawDay <= 0 {
			l.active = true
			l.outstanding = l.principal
			l.lastIntDay = lastInterestDay(g, 0)
			if l.lastIntDay < l.drawDay {
				l.lastIntDay = l.drawDay
			}
		}
	}
	return nil
}

// lastInterestDay returns the day index of the latest loan-interest date (the
// 21st) on or before day t.
func lastInterestDay(g *region, t int32) int32 {
	d := g.dateOf(t)
	if d.D < 21 {
		d = d.AddDays(-d.D) // last day of previous month
	}
	return g.dayOf(rrs.Date{Y: d.Y, M: d.M, D: 21})
}

// buildPools turns some large and medium enterprises into group heads with a
// cash pool at their home bank: members (renamed as the group's
// subsidiaries) hold general sub-accounts there, the head's basic account is
// a sub-account too, and a virtual master account sums them.
func (g *region) buildPools(r *rng) {
	n := len(g.ents)
	if n < 20 {
		return
	}
	var heads []int32
	for i := range g.ents {
		e := &g.ents[i]
		if e.profile != ProfileShell && e.profile != ProfileMule && e.startDay == 0 && e.size >= 2 {
			heads = append(heads, int32(i))
		}
	}
	// Biggest first, so a region always pools its largest group.
	slices.SortStableFunc(heads, func(a, b int32) int { return cmpI64(g.ents[b].revenue, g.ents[a].revenue) })
	want := max(1, n/40)
	if len(heads) > want {
		heads = heads[:want]
	}
	names := map[string]bool{}
	for i := range g.ents {
		names[g.ents[i].name] = true
	}
	for _, h := range heads {
		if g.ents[h].group >= 0 {
			continue
		}
		head := &g.ents[h]
		gi := int32(len(g.pools))
		head.group = gi
		p := pool{head: h}
		bank := head.home
		p.master = g.newAccount(acctModel{inst: bank, owner: h, typ: '9', subject: "D01", currency: "CNY",
			role: rolePoolMaster, openDay: -int32(r.between(30, 700))})
		g.accts[head.basic].parent = p.master
		p.subs = append(p.subs, head.basic)
		trade := tradeOf(head.name, head.city)
		for m, tries := 2+r.intn(3), 0; m > 0 && tries < 200; tries++ {
			c := int32(r.intn(n))
			ce := &g.ents[c]
			if ce.group >= 0 || ce.profile == ProfileShell || ce.profile == ProfileMule || ce.startDay > 0 || ce.size >= 3 {
				continue
			}
			ce.group = gi
			// The member becomes a subsidiary carrying the group's trade name.
			ind := &industries[ce.ind]
			for k := 0; k < 10; k++ {
				nm := ce.city + trade + ind.Words[r.intn(len(ind.Words))] + "有限公司"
				if !names[nm] {
					ce.name = nm
					names[nm] = true
					break
				}
			}
			sub := g.newAccount(acctModel{inst: bank, owner: c, typ: '2', subject: "D01", currency: "CNY",
				role: roleOperating, openDay: -int32(r.between(10, 600)), initBal: r.jitter(ce.revenue / 365 * 5)})
			g.accts[sub].parent = p.master
			p.subs = append(p.subs, sub)
			m--
		}
		g.accts[p.master].subs = p.subs
		g.pools = append(g.pools, p)
	}
}

// tradeOf extracts the two-character trade name from a company name built by
// enterpriseName.
func tradeOf(name, city string) string {
	rest := strings.TrimPrefix(name, city)
	rs := []rune(rest)
	for _, d := range regionDivisions {
		if d.City == city && d.District != "" && strings.HasPrefix(rest, d.District) {
			rs = []rune(strings.TrimPrefix(rest, d.District))
			break
		}
	}
	if len(rs) < 2 {
		return "华盛"
	}
	return string(rs[:2])
}

func cmpI64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// buildLifecycle closes and freezes accounts during the period: declining
// enterprises close a general account or have one frozen by a court.
func (g *region) buildLifecycle(r *rng) {
	days := int32(g.cfg.Days)
	if days < 4 {
		return
	}
	candidates := func(e *entModel) []int32 {
		var c []int32
		for _, a := range e.cny {
			am := &g.accts[a]
			if am.parent < 0 && am.typ == '2' && am.openDay < 0 && am.closeDay == noDay && am.freezeFrom == noDay {
				c = append(c, a)
			}
		}
		return c
	}
	closeOne := func(c []int32) {
		a := c[r.intn(len(c))]
		g.accts[a].closeDay = 1 + int32(r.intn(int(days-1)))
	}
	freezeOne := func(e *entModel, c []int32) bool {
		a := e.basic
		if len(c) > 0 && r.chance(500) {
			a = c[r.intn(len(c))]
		}
		am := &g.accts[a]
		if am.closeDay != noDay || am.parent >= 0 {
			return false
		}
		am.freezeFrom = 1 + int32(r.intn(int(days-1)))
		am.freezeTo = am.freezeFrom + int32(r.between(7, 60))
		return true
	}
	closed, frozen := false, false
	for i := range g.ents {
		e := &g.ents[i]
		if e.profile != ProfileDeclining {
			continue
		}
		if c := candidates(e); len(c) > 0 && r.chance(350) {
			closeOne(c)
			closed = true
		}
		if r.chance(250) {
			frozen = freezeOne(e, candidates(e)) || frozen
		}
	}
	// Regions of 30 or more enterprises always show both.
	for i := 0; i < len(g.ents) && len(g.ents) >= 30 && (!closed || !frozen); i++ {
		e := &g.ents[i]
		if e.profile == ProfileShell || e.profile == ProfileMule || e.startDay > 0 {
			continue
		}
		c := candidates(e)
		if !closed && len(c) > 0 {
			closeOne(c)
			closed = true
		} else if !frozen {
			frozen = freezeOne(e, c)
		}
	}
}

// buildMuleRings turns the rings' member enterprises into account lists and
// freezes the mule accounts when the ring ends (as banks do once victims
// report the fraud).
//
// A ring's traffic lands on few accounts — every transfer twice on its
// mule's bank and once on the collector's — so at a bank with few ordinary
// customers the ring's start and its freeze would by themselves move the
// bank's daily TXN count out of RRS-1 C06's [0.2×, 5×] band. The ring's
// daily transfers are therefore scaled to the smallest of its banks: full
// when each has ringFullCustomers ordinary customers or more, in proportion
// below (a small region's ring finds fewer victims).
func (g *region) buildMuleRings() {
	customers := make([]int64, len(g.insts))
	for i := range g.ents {
		if e := &g.ents[i]; e.profile != ProfileShell && e.profile != ProfileMule && e.startDay == 0 {
			customers[e.home]++
		}
	}
	for i := range g.mules {
		ring := &g.mules[i]
		least := customers[g.ents[ring.collector].home]
		for _, e := range ring.mules {
			least = min(least, customers[g.ents[e].home])
		}
		ring.scale = min(1000, least*1000/ringFullCustomers)
		for k, e := range ring.mules {
			ring.mules[k] = g.ents[e].basic
			am := &g.accts[g.ents[e].basic]
			if ring.endDay < int32(g.cfg.Days) {
				am.freezeFrom, am.freezeTo = ring.endDay, noDay
			}
		}
		ring.collector = g.ents[ring.collector].basic
	}
}

// sortAccounts orders accounts by institution (keeping creation order within
// one), renumbers every reference, and assigns account numbers: a five-digit
// bank prefix, a three-digit branch, a two-digit product code, a nine-digit
// serial and a Luhn check digit (20 digits).
func (g *region) sortAccounts() {
	n := len(g.accts)
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return int(g.accts[a].inst) - int(g.accts[b].inst) })
	newID := make([]int32, n)
	sorted := make([]acctModel, n)
	for to, from := range order {
		newID[from] = int32(to)
		sorted[to] = g.accts[from]
	}
	remap := func(s []int32) {
		for i, a := range s {
			s[i] = newID[a]
		}
	}
	for i := range sorted {
		a := &sorted[i]
		if a.parent >= 0 {
			a.parent = newID[a.parent]
		}
		if a.subs != nil {
			a.subs = slices.Clone(a.subs)
			remap(a.subs)
		}
	}
	g.accts = sorted
	for i := range g.ents {
		e := &g.ents[i]
		remap(e.accts)
		remap(e.cny)
		remap(e.fx)
		e.basic = newID[e.basic]
		for _, p := range []*int32{&e.wages, &e.escrow, &e.td} {
			if *p >= 0 {
				*p = newID[*p]
			}
		}
	}
	for i := range g.pools {
		g.pools[i].master = newID[g.pools[i].master]
		remap(g.pools[i].subs)
	}
	for i := range g.mules {
		remap(g.mules[i].mules)
		g.mules[i].collector = newID[g.mules[i].collector]
	}
	// Ranges and numbers.
	serial := make([]int64, len(g.insts))
	for i := range g.insts {
		g.insts[i].first, g.insts[i].end = int32(n), int32(n)
	}
	for i := n - 1; i >= 0; i-- {
		g.insts[g.accts[i].inst].first = int32(i)
	}
	for b := len(g.insts) - 1; b >= 0; b-- {
		if b+1 < len(g.insts) {
			g.insts[b].end = g.insts[b+1].first
		}
	}
	for i := range g.accts {
		a := &g.accts[i]
		in := &g.insts[a.inst]
		serial[a.inst]++
		product := int64(2)
		switch {
		case a.typ == '9':
			product = 9
		case a.role == roleTimeDeposit:
			product = 12
		case a.role == roleFX:
			product = map[string]int64{"USD": 21, "EUR": 22, "HKD": 23}[a.currency]
		default:
			product = int64(a.typ - '0')
		}
		branch := int64(1 + (int(a.owner)*7)%40)
		b := appendPadded(nil, int64(in.acctPrefix), 5)
		b = appendPadded(b, branch, 3)
		b = appendPadded(b, product, 2)
		b = appendPadded(b, serial[a.inst]*7+int64(i%7), 9)
		a.no = string(append(b, luhnDigit(b)))
		a.open = g.dateOf(a.openDay)
		if a.closeDay != noDay {
			a.close = g.dateOf(a.closeDay)
		}
	}
}

// buildNetwork draws each enterprise's in-region suppliers, weighted by
// revenue among the industries it buys from, and the shells' clients and
// onward destinations; then it estimates each enterprise's share of sales
// coming from outside the region.
func (g *region) buildNetwork(r *rng) {
	n := len(g.ents)
	byInd := make([][]int32, len(industries))
	cum := make([][]int64, len(industries))
	var shells []int32
	for i := range g.ents {
		e := &g.ents[i]
		switch e.profile {
		case ProfileShell:
			shells = append(shells, int32(i))
			continue
		case ProfileMule:
			continue
		}
		byInd[e.ind] = append(byInd[e.ind], int32(i))
		var last int64
		if c := cum[e.ind]; len(c) > 0 {
			last = c[len(c)-1]
		}
		cum[e.ind] = append(cum[e.ind], last+e.revenue)
	}
	// absorbed is each supplier's expected yearly inflow from in-region
	// buyers so far: a supplier takes no more buyers once that reaches 70 %
	// of its revenue, so that a micro firm is not the main supplier of a
	// giant (small regions have few firms per industry).
	inflow := make([]int64, n)
	for i := range g.ents {
		e := &g.ents[i]
		if e.profile == ProfileShell || e.profile == ProfileMule {
			continue
		}
		ind := &industries[e.ind]
		k := sizeClasses[e.size].Suppliers
		flow := e.revenue * ind.CostPermille / 1000 / 2 / int64(k)
		seen := map[int32]bool{int32(i): true}
		for tries := 0; len(e.suppliers) < k && tries < 4*k+8; tries++ {
			si := industryIndex(ind.Suppliers[r.intn(len(ind.Suppliers))])
			c := cum[si]
			if len(c) == 0 {
				continue
			}
			x := r.between(0, c[len(c)-1]-1)
			j, _ := slices.BinarySearch(c, x+1)
			s := byInd[si][j]
			if !seen[s] && inflow[s]+flow <= g.ents[s].revenue*7/10 {
				seen[s] = true
				e.suppliers = append(e.suppliers, s)
				inflow[s] += flow
			}
		}
		// Half of purchases go to in-region suppliers when all k were found.
		e.inRegionPermille = int64(500 * len(e.suppliers) / k)
	}
	for i := range g.ents {
		e := &g.ents[i]
		if e.revenue > 0 {
			e.extShare = min(1000, max(200, 1000-inflow[i]*1000/e.revenue))
		}
	}
	// Shells: a few normal enterprises pay them round sums ("consulting
	// fees"), and they pass the money on to other shells or out of the region.
	for _, s := range shells {
		se := &g.ents[s]
		for k := 1 + r.intn(3); k > 0; k-- {
			c := int32(r.intn(n))
			ce := &g.ents[c]
			if ce.profile == ProfileShell || ce.profile == ProfileMule || ce.paysShell >= 0 || ce.startDay > 0 {
				continue
			}
			ce.paysShell = s
			se.shellClients = append(se.shellClients, c)
		}
		if len(shells) > 1 {
			for k := 1 + r.intn(2); k > 0; k-- {
				d := shells[r.intn(len(shells))]
				if d != s && g.ents[d].collector < 0 && !slices.Contains(se.shellDest, d) {
					se.shellDest = append(se.shellDest, d)
				}
			}
		}
	}
}

// People are not stored: person i is computed from i on demand. Their
// resident IDs are unique because i is mapped by a bijection onto the
// combinations of division, birth date and order code.
const (
	peopleAgeMin = 20
	peopleAgeMax = 70
)

func (g *region) peopleSpace() (nDiv, nBirth, nOrder int64) {
	nDiv = int64(len(regionDivisions) + len(outsideDivisions))
	nBirth = int64((peopleAgeMax - peopleAgeMin) * 365)
	return nDiv, nBirth, 1000
}

// personAt returns person i.
func (g *region) personAt(i int32) person {
	nDiv, nBirth, nOrder := g.peopleSpace()
	total := nDiv * nBirth * nOrder
	// An affine bijection of [0, total): a multiplier coprime with total.
	const mult = 2654435761 // prime, > any factor of total
	j := (int64(i)*mult + int64(uint64(g.cfg.Seed)%uint64(total))) % total
	di := j % nDiv
	j /= nDiv
	bi := j % nBirth
	order := j / nBirth
	var div string
	if di < int64(len(regionDivisions)) {
		div = regionDivisions[di].Code
	} else {
		div = outsideDivisions[di-int64(len(regionDivisions))].Code
	}
	birth := g.cfg.Start.AddDays(-peopleAgeMax*365 + int(bi))
	id, _ := makeResidentID(div, birth, int(order)) // inputs are digits by construction
	r := deriveRNG(g.cfg.Seed, tagPeople, uint64(i))
	p := person{id: id, ring: -1}
	p.name, p.pinyin = r.personName()
	if ri, ok := g.ringOf[i]; ok {
		sn := g.rings[ri].surname
		p.name, p.pinyin = r.givenName(sn.Han, sn.Pinyin)
		p.ring = ri
	}
	p.inst = int32(r.pick(g.instW))
	return p
}

// buildPeople draws the FX split-purchase rings among the people: families
// sharing a surname, buying just under the annual quota each, all for one
// beneficiary abroad.
func (g *region) buildPeople(r *rng) {
	g.ringOf = map[int32]int32{}
	P := g.cfg.People
	if P < 50 {
		return
	}
	nRings := max(1, P/500)
	countries := []string{"US", "CA", "AU", "GB", "HK", "SG", "NZ", "JP"}
	w := surnameWeights
	for k := 0; k < nRings; k++ {
		// Members buy on three consecutive days, all inside the period.
		ring := fxRing{surname: surnames[r.pick(w)], startDay: int32(r.intn(max(1, g.cfg.Days-2)))}
		size := 5 + r.intn(4)
		for len(ring.members) < size {
			m := int32(r.intn(P))
			if _, taken := g.ringOf[m]; taken {
				continue
			}
			g.ringOf[m] = int32(k)
			ring.members = append(ring.members, m)
		}
		_, py := r.givenName(ring.surname.Han, ring.surname.Pinyin)
		country := countries[r.intn(len(countries))]
		ring.bene = beneficiary{name: py, acct: r.foreignAccount(country), country: country}
		ring.purpose = []string{"TRV", "STU", "REL"}[r.intn(3)]
		ring.currency = "USD"
		if country == "HK" {
			ring.currency = "HKD"
		}
		g.rings = append(g.rings, ring)
	}
}

// errRegion wraps an impossible construction failure.
func errRegion(err error) error {
	return ronghe.WrapError(ronghe.EINTERNAL, err, "gen: build region")
}
