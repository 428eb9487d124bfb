package gen

import "github.com/ronghe/ronghe/rrs"

// This file holds the in-memory model of the region that the simulation runs
// on. Everything is index-based (int32 into slices) so that the per-day work
// touches compact arrays and memory grows with the number of accounts, not
// with the number of transactions.

// Enterprise profiles: how an enterprise's business behaves over time. They
// are what a lender reading a flow report wants to tell apart.
const (
	ProfileSteady    = "steady"    // flat revenue with weekly and seasonal noise
	ProfileGrowing   = "growing"   // revenue rising 30–80 % a year
	ProfileDeclining = "declining" // revenue falling 20–50 % a year, wage arrears, freezes
	ProfileSeasonal  = "seasonal"  // revenue following its industry's calendar
	ProfileShell     = "shell"     // round-amount inflows passed straight through
	ProfileMule      = "mule"      // rented account: many small inflows, rapid outflow to one collector
)

// noDay is a day index that never comes (an account that never closes).
const noDay = int32(1 << 30)

// instModel is one reporting institution.
type instModel struct {
	code, name, uscc, division, class string
	acctPrefix                        int
	first, end                        int32 // its accounts are [first, end)
	internal                          [nInternal]int32
}

// Kinds of a bank's internal accounts that appear as counterparties: the
// enterprise's own bank is the other side of loans, interest, card
// settlements, payroll clearing and FX dealing.
const (
	intLoan = iota
	intLoanInterest
	intDepositInterest
	intPayroll
	intAcquiring
	intFXDesk
	intCash
	nInternal
)

// Account roles, for labels and for the simulation's choices.
const (
	roleOperating   = iota // basic or general operating account
	roleFX                 // foreign-currency account
	roleWages              // migrant-worker wage special account (农民工工资专用账户)
	roleEscrow             // pre-sale funds escrow (预售资金监管账户)
	roleProject            // temporary project account
	roleTimeDeposit        // time deposit
	rolePoolMaster         // cash-pool master (virtual)
)

// acctModel is one account. Day indexes count from Config.Start (day 0).
type acctModel struct {
	no                  string
	inst, owner, parent int32
	typ                 byte   // '1' basic … '4' temporary, '9' pool master
	subject             string // D01, D02, D03
	currency            string
	role                uint8
	openDay, closeDay   int32
	freezeFrom          int32
	freezeTo            int32
	open, close         rrs.Date // open is real; close zero when closeDay == noDay
	initBal             int64
	tdRateBP            int64 // time deposits: rate
	fund                int64 // accounts opened in the period: first transfer in
	subs                []int32
}

// loanModel is an enterprise's working-capital loan from its home bank: a
// one-year term, interest monthly on the 21st, principal at maturity, and a
// renewal (借新还旧) a few days later for most borrowers.
type loanModel struct {
	principal   int64
	rateBP      int64
	drawDay     int32
	maturityDay int32
	lastIntDay  int32
	outstanding int64
	renew       bool
	active      bool
}

// entModel is one enterprise.
type entModel struct {
	uscc, name, division, city string
	ind, size                  int
	profile                    string
	employees                  int
	revenue                    int64 // annual, cents
	trendPermille              int64 // change of revenue per year, per mille
	home                       int32
	basic                      int32
	accts                      []int32 // every account, in creation order
	cny                        []int32 // CNY operating accounts
	fx                         []int32
	wages, escrow, td          int32
	suppliers                  []int32
	shellClients               []int32 // shells: enterprises paying them
	shellDest                  []int32 // shells: where money goes on (enterprises); empty = outside
	paysShell                  int32   // normal enterprise that feeds a shell, or -1
	extShare                   int64   // per mille of sales from outside the region
	inRegionPermille           int64   // per mille of purchases paid to in-region suppliers
	payday, vatDay             int8
	siDay, hpfDay              int8
	powerDay, waterDay, telDay int8
	loan                       loanModel
	mule                       int32 // mule ring, or -1
	collector                  int32 // ring it collects for, or -1
	group                      int32 // cash-pool group, or -1
	established                rrs.Date
	startDay                   int32 // first day with activity (new enterprises)
}

// extKind classifies an outside counterparty.
type extKind uint8

const (
	extCompany extKind = iota
	extForeign
	extPerson
	extTax
	extHousingFund
	extPower
	extWater
	extTelecom
	extBank
)

// extParty is a counterparty that reports to nobody in the region: an
// out-of-region or foreign company, a person, a public body, or one of a
// bank's own internal accounts (then instCode is that bank's code).
type extParty struct {
	name, acct, uscc, instCode string
	kind                       extKind
}

// person is an individual who may buy foreign exchange.
type person struct {
	id, name, pinyin string
	inst             int32
	ring             int32 // FX split-purchase ring, or -1
}

// fxRing is a group of people who split one large purchase of foreign
// currency into purchases just under each person's USD 50,000 annual quota
// (个人年度购汇便利化额度) and send it all to one beneficiary.
type fxRing struct {
	members  []int32
	startDay int32
	bene     beneficiary
	purpose  string
	currency string
	surname  surname
}

// muleRing is a group of rented enterprise accounts that take in many small
// transfers from fraud victims and pass them within minutes to one collector
// account (many-to-one), until the accounts are frozen.
type muleRing struct {
	mules            []int32 // accounts
	collector        int32   // account
	startDay, endDay int32
	// scale (per mille) of the ring's daily transfers: below 1000 when one
	// of its banks has few ordinary customers (see buildMuleRings)
	scale int64
}

// pool is a cash pool: a virtual master account whose balance is the sum of
// its members' sub-accounts at the same bank.
type pool struct {
	head   int32
	master int32
	subs   []int32
}

// beneficiary is the receiving party of a foreign-exchange purchase.
type beneficiary struct {
	name, acct, country string
}

// region is the whole synthetic world.
type region struct {
	cfg      Config
	insts    []instModel
	ents     []entModel
	accts    []acctModel
	ext      []extParty
	rings    []fxRing
	ringOf   map[int32]int32 // person → FX ring
	mules    []muleRing
	pools    []pool
	dates    []rrs.Date // dates[t] = Start + t
	extByKnd map[extKind][]int32
	taxOf    map[string]int32 // division → tax bureau party
	cityExt  map[string][5]int32
	instW    []int // institutions' weights as home banks
	hasFX    bool  // variety guarantees while building
	hasTemp  bool
}
