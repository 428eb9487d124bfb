package rrs

// This file is the single definition of RRS-1 version 1.0 (RRS-1.md §2). Every
// field list elsewhere — readers, rules, JSON Schemas, docs, the generator — is
// derived from it.

// Shared code lists.
var (
	subjectCodes = []Code{
		{"D01", "corporate demand deposits", "单位活期存款"},
		{"D02", "corporate time deposits", "单位定期存款"},
		{"D03", "special-purpose deposits", "专项存款"},
	}
	dataFileCodes = []Code{
		{"ACCT", "account master", "企业银行结算账户"},
		{"TXN", "account transaction flow", "企业收支流水"},
		{"BAL", "daily account balance", "账户日余额"},
		{"GL", "general-ledger subject balance", "总账科目余额"},
		{"STAT", "statistical report figure", "金融统计报表"},
		{"FXP", "individual foreign-exchange purchase", "个人购汇"},
	}
)

// Field constructors keep the table short and uniform.

func instCode(level int) Field {
	return Field{Name: "inst_code", Kind: KindString, MinLen: 14, MaxLen: 14, Level: level,
		Doc: "reporting institution's code; equals the batch's sender", DocZH: "报送机构编码，须与批次报送方一致"}
}

func acctNo(level int) Field {
	return Field{Name: "acct_no", Kind: KindDigits, MinLen: 6, MaxLen: 32, Level: level,
		Doc: "account number", DocZH: "账号"}
}

func currency(doc, docZH string) Field {
	return Field{Name: "currency", Kind: KindCurrency, Level: 1, Doc: doc, DocZH: docZH}
}

func money(name string, level int, doc, docZH string) Field {
	return Field{Name: name, Kind: KindDecimal, Level: level, Doc: doc, DocZH: docZH}
}

func date(name string, level int, doc, docZH string) Field {
	return Field{Name: name, Kind: KindDate, Level: level, Doc: doc, DocZH: docZH}
}

var v10 = &Spec{
	Standard: "RRS-1",
	Version:  "1.0",
	Types: []*RecordType{
		{
			Type: ACCT, Title: "Account master", TitleZH: "企业银行结算账户",
			Key: []string{"acct_no"},
			Fields: []Field{
				instCode(2),
				acctNo(3),
				{Name: "acct_type", Kind: KindEnum, Level: 2, Doc: "account type", DocZH: "账户类型", Codes: []Code{
					{"1", "basic", "基本户"},
					{"2", "general", "一般户"},
					{"3", "special-purpose", "专用户"},
					{"4", "temporary", "临时户"},
					{"9", "cash-pool master (virtual)", "资金池主账户（虚拟）"},
				}},
				{Name: "parent_acct_no", Kind: KindDigits, MinLen: 6, MaxLen: 32, Nullable: true, Level: 3,
					Doc: "master account of a cash-pool sub-account", DocZH: "资金池子账户所属主账户"},
				{Name: "subject_code", Kind: KindEnum, Level: 2, Codes: subjectCodes,
					Doc: "ledger subject", DocZH: "会计科目"},
				{Name: "uscc", Kind: KindUSCC, MinLen: 18, MaxLen: 18, Level: 2,
					Doc: "account holder's unified social credit code", DocZH: "开户单位统一社会信用代码"},
				{Name: "holder_name", Kind: KindString, MinLen: 1, MaxLen: 100, Level: 2,
					Doc: "account holder's name", DocZH: "开户单位名称"},
				currency("account currency", "账户币种"),
				date("open_date", 2, "date the account was opened", "开户日期"),
				{Name: "close_date", Kind: KindDate, Nullable: true, Level: 2,
					Doc: "date the account was closed", DocZH: "销户日期"},
				{Name: "status", Kind: KindEnum, Level: 2, Doc: "account status", DocZH: "账户状态", Codes: []Code{
					{"A", "active", "正常"},
					{"F", "frozen", "冻结"},
					{"C", "closed", "销户"},
				}},
			},
		},
		{
			Type: TXN, Title: "Account transaction flow", TitleZH: "企业收支流水",
			Key: []string{"txn_id"},
			Fields: []Field{
				instCode(2),
				acctNo(3),
				{Name: "txn_id", Kind: KindString, MinLen: 1, MaxLen: 40, Level: 3,
					Doc: "transaction ID, unique within the institution for ever", DocZH: "交易流水号，机构内永久唯一"},
				date("txn_date", 3, "transaction date; equals the batch's business date", "交易日期，须等于批次业务日期"),
				{Name: "txn_time", Kind: KindTime, Level: 3, Doc: "transaction time", DocZH: "交易时间"},
				{Name: "txn_seq", Kind: KindInt, Positive: true, Level: 3,
					Doc: "order of the transaction within account and date", DocZH: "账户当日交易序号"},
				{Name: "dc_flag", Kind: KindEnum, Level: 3, Doc: "debit/credit flag", DocZH: "借贷标志", Codes: []Code{
					{"D", "debit (money out of the account)", "借（支出）"},
					{"C", "credit (money in)", "贷（收入）"},
				}},
				{Name: "amount", Kind: KindDecimal, Positive: true, Level: 3, Doc: "transaction amount", DocZH: "交易金额"},
				currency("transaction currency; equals the account's currency", "交易币种，须等于账户币种"),
				money("balance", 3, "account balance after this transaction", "交易后余额"),
				{Name: "cp_acct_no", Kind: KindString, MinLen: 1, MaxLen: 64, Nullable: true, Level: 3,
					Doc: "counterparty account", DocZH: "对方账号"},
				{Name: "cp_name", Kind: KindString, MinLen: 1, MaxLen: 200, Nullable: true, Level: 3,
					Doc: "counterparty name", DocZH: "对方户名"},
				{Name: "cp_inst_code", Kind: KindString, MinLen: 14, MaxLen: 14, Nullable: true, Level: 2,
					Doc: "counterparty's institution code; required when it is a reporting institution", DocZH: "对方机构编码，对方为报送机构时必填"},
				{Name: "cp_uscc", Kind: KindUSCC, MinLen: 18, MaxLen: 18, Nullable: true, Level: 3,
					Doc: "counterparty's USCC, when it is an enterprise", DocZH: "对方统一社会信用代码（对方为企业时）"},
				{Name: "channel", Kind: KindEnum, Level: 2, Doc: "transaction channel", DocZH: "交易渠道", Codes: []Code{
					{"01", "counter", "柜面"},
					{"02", "online banking", "网上银行"},
					{"03", "mobile", "手机银行"},
					{"04", "ATM", "ATM"},
					{"05", "POS", "POS"},
					{"06", "bank-enterprise link", "银企直联"},
					{"99", "other", "其他"},
				}},
				{Name: "purpose", Kind: KindEnum, Level: 3, Doc: "transaction purpose", DocZH: "交易用途", Codes: []Code{
					{"SAL", "payroll", "代发工资"},
					{"TAX", "tax", "税费"},
					{"UTL", "utilities", "水电煤等公用事业"},
					{"GDS", "goods and services", "货物和服务"},
					{"LON", "loan", "贷款"},
					{"INT", "interest and fees", "利息和手续费"},
					{"TRF", "transfer", "转账"},
					{"CSH", "cash", "现金"},
					{"OTH", "other", "其他"},
				}},
				{Name: "remark", Kind: KindString, MinLen: 0, MaxLen: 200, Nullable: true, Level: 3,
					Doc: "free text", DocZH: "摘要"},
			},
		},
		{
			Type: BAL, Title: "Daily account balance", TitleZH: "账户日余额",
			Key: []string{"acct_no", "bal_date"},
			Fields: []Field{
				instCode(3),
				acctNo(3),
				date("bal_date", 3, "balance date; equals the batch's business date", "余额日期，须等于批次业务日期"),
				currency("account currency", "账户币种"),
				money("open_bal", 3, "opening balance of the day", "日初余额"),
				money("close_bal", 3, "closing balance of the day", "日终余额"),
				{Name: "debit_total", Kind: KindDecimal, NonNegative: true, Level: 3, Doc: "sum of the day's debits", DocZH: "当日借方发生额"},
				{Name: "credit_total", Kind: KindDecimal, NonNegative: true, Level: 3, Doc: "sum of the day's credits", DocZH: "当日贷方发生额"},
				{Name: "debit_count", Kind: KindInt, NonNegative: true, Level: 3, Doc: "number of the day's debits", DocZH: "当日借方笔数"},
				{Name: "credit_count", Kind: KindInt, NonNegative: true, Level: 3, Doc: "number of the day's credits", DocZH: "当日贷方笔数"},
			},
		},
		{
			Type: GL, Title: "General-ledger subject balance", TitleZH: "总账科目余额",
			Key: []string{"subject_code", "currency"},
			Fields: []Field{
				instCode(2),
				date("gl_date", 2, "ledger date; equals the batch's business date", "总账日期，须等于批次业务日期"),
				{Name: "subject_code", Kind: KindEnum, Level: 2, Codes: subjectCodes, Doc: "ledger subject", DocZH: "会计科目"},
				currency("subject currency", "币种"),
				money("balance", 2, "the ledger's own balance of the subject", "总账科目余额"),
			},
		},
		{
			Type: STAT, Title: "Statistical report figure", TitleZH: "金融统计报表",
			Key: []string{"item_code", "currency"}, MonthEndOnly: true,
			Fields: []Field{
				instCode(2),
				{Name: "period", Kind: KindPeriod, Level: 2, Doc: "report month; equals the business month", DocZH: "报告期（年月），须等于业务月份"},
				{Name: "item_code", Kind: KindEnum, Level: 2, Codes: subjectCodes, Doc: "report item (same codes as subject_code)", DocZH: "报表项目（同会计科目代码）"},
				currency("item currency", "币种"),
				money("value", 2, "reported figure", "报表数值"),
			},
		},
		{
			Type: FXP, Title: "Individual foreign-exchange purchase", TitleZH: "个人购汇",
			Key: []string{"txn_id"}, Optional: true,
			Fields: []Field{
				instCode(2),
				{Name: "txn_id", Kind: KindString, MinLen: 1, MaxLen: 40, Level: 3, Doc: "transaction ID", DocZH: "交易流水号"},
				date("txn_date", 3, "transaction date; equals the batch's business date", "交易日期，须等于批次业务日期"),
				{Name: "person_id", Kind: KindResidentID, MinLen: 18, MaxLen: 18, Level: 3, PI: "C2",
					Doc: "purchaser's resident identity number", DocZH: "购汇人居民身份证号码"},
				{Name: "person_name", Kind: KindString, MinLen: 1, MaxLen: 100, Level: 3, PI: "C2",
					Doc: "purchaser's name", DocZH: "购汇人姓名"},
				{Name: "currency", Kind: KindCurrency, Level: 1, Forbidden: []string{"CNY"},
					Doc: "currency bought (not CNY)", DocZH: "购汇币种（不得为人民币）"},
				{Name: "amount", Kind: KindDecimal, Positive: true, Level: 3, Doc: "amount bought, in currency", DocZH: "购汇金额（原币）"},
				{Name: "amount_usd", Kind: KindDecimal, Positive: true, Level: 3, Doc: "amount bought, in USD", DocZH: "折美元金额"},
				{Name: "purpose", Kind: KindEnum, Level: 3, Doc: "purpose of the purchase", DocZH: "购汇用途", Codes: []Code{
					{"TRV", "travel", "旅游"},
					{"STU", "study abroad", "留学"},
					{"MED", "medical", "就医"},
					{"REL", "support of relatives", "探亲及赡家"},
					{"TRD", "trade in goods/services", "货物及服务贸易"},
					{"OTH", "other", "其他"},
				}},
				{Name: "bene_name", Kind: KindString, MinLen: 1, MaxLen: 200, Level: 3, Doc: "beneficiary's name", DocZH: "收款人名称"},
				{Name: "bene_acct", Kind: KindString, MinLen: 1, MaxLen: 64, Level: 3, Doc: "beneficiary's account", DocZH: "收款人账号"},
				{Name: "bene_country", Kind: KindCountry, Level: 1, Doc: "beneficiary's country", DocZH: "收款人国家或地区"},
			},
		},
		{
			Type: CTL, Title: "Control totals", TitleZH: "控制总数",
			Key: []string{"file"},
			Fields: []Field{
				{Name: "file", Kind: KindEnum, Level: 2, Codes: dataFileCodes, Doc: "data file the totals are for", DocZH: "所控制的数据文件"},
				{Name: "record_count", Kind: KindInt, NonNegative: true, Level: 2, Doc: "rows in that file", DocZH: "文件记录数"},
				{Name: "amount_sum", Kind: KindDecimal, Nullable: true, Level: 2,
					Doc:   "TXN: Σ amount; BAL: Σ close_bal; GL: Σ balance; STAT: Σ value; FXP: Σ amount_usd; ACCT: empty",
					DocZH: "TXN 为交易金额合计；BAL 为日终余额合计；GL 为余额合计；STAT 为数值合计；FXP 为折美元金额合计；ACCT 为空"},
				{Name: "debit_sum", Kind: KindDecimal, Nullable: true, Level: 2, Doc: "TXN only: Σ amount of D rows", DocZH: "仅 TXN：借方金额合计"},
				{Name: "credit_sum", Kind: KindDecimal, Nullable: true, Level: 2, Doc: "TXN only: Σ amount of C rows", DocZH: "仅 TXN：贷方金额合计"},
			},
		},
	},
}

// CTLSumField names, for each data file, the field whose values CTL.amount_sum
// adds (RRS-1 §2 CTL); ACCT has none.
var ctlSumField = map[Type]string{
	TXN:  "amount",
	BAL:  "close_bal",
	GL:   "balance",
	STAT: "value",
	FXP:  "amount_usd",
}

// CTLSumField returns the field of data file t whose values CTL.amount_sum
// adds, and false for ACCT, CTL and unknown types.
func CTLSumField(t Type) (string, bool) {
	f, ok := ctlSumField[t]
	return f, ok
}
