package gen

// This file holds the static vocabularies the region is drawn from:
// administrative divisions, personal names, trade names, industries. They are
// read-only tables; nothing here is mutated after package initialisation.

// division is a county-level administrative division of GB/T 2260 (the
// Ministry of Civil Affairs' code list). The six-digit code is positions 3–8 of
// a USCC and 1–6 of a resident ID.
type division struct {
	Code     string
	City     string // 广州市
	District string // 天河区; empty for prefecture-level cities without districts (东莞市)
	Pinyin   string // city in pinyin, for institution and beneficiary names
}

// regionDivisions are the divisions of the synthetic region (the Pearl River
// Delta of Guangdong, where a central-bank branch would supervise the banks).
// Weights roughly follow each district's share of registered enterprises.
var regionDivisions = []struct {
	division
	weight int
}{
	{division{"440103", "广州市", "荔湾区", "Guangzhou"}, 4},
	{division{"440104", "广州市", "越秀区", "Guangzhou"}, 6},
	{division{"440105", "广州市", "海珠区", "Guangzhou"}, 6},
	{division{"440106", "广州市", "天河区", "Guangzhou"}, 12},
	{division{"440111", "广州市", "白云区", "Guangzhou"}, 9},
	{division{"440112", "广州市", "黄埔区", "Guangzhou"}, 5},
	{division{"440113", "广州市", "番禺区", "Guangzhou"}, 7},
	{division{"440114", "广州市", "花都区", "Guangzhou"}, 4},
	{division{"440115", "广州市", "南沙区", "Guangzhou"}, 4},
	{division{"440118", "广州市", "增城区", "Guangzhou"}, 3},
	{division{"440303", "深圳市", "罗湖区", "Shenzhen"}, 5},
	{division{"440304", "深圳市", "福田区", "Shenzhen"}, 9},
	{division{"440305", "深圳市", "南山区", "Shenzhen"}, 10},
	{division{"440306", "深圳市", "宝安区", "Shenzhen"}, 9},
	{division{"440307", "深圳市", "龙岗区", "Shenzhen"}, 8},
	{division{"440309", "深圳市", "龙华区", "Shenzhen"}, 6},
	{division{"440402", "珠海市", "香洲区", "Zhuhai"}, 3},
	{division{"440604", "佛山市", "禅城区", "Foshan"}, 3},
	{division{"440605", "佛山市", "南海区", "Foshan"}, 5},
	{division{"440606", "佛山市", "顺德区", "Foshan"}, 5},
	{division{"441900", "东莞市", "", "Dongguan"}, 9},
	{division{"442000", "中山市", "", "Zhongshan"}, 4},
	{division{"441302", "惠州市", "惠城区", "Huizhou"}, 3},
	{division{"440703", "江门市", "蓬江区", "Jiangmen"}, 2},
}

// outsideDivisions are divisions outside the region: home of out-of-region
// trading partners and of many people's household registrations (migrant
// workers in Guangdong come largely from Hunan, Guangxi, Sichuan, Jiangxi).
var outsideDivisions = []division{
	{"310101", "上海市", "黄浦区", "Shanghai"},
	{"310115", "上海市", "浦东新区", "Shanghai"},
	{"110105", "北京市", "朝阳区", "Beijing"},
	{"110108", "北京市", "海淀区", "Beijing"},
	{"330106", "杭州市", "西湖区", "Hangzhou"},
	{"330212", "宁波市", "鄞州区", "Ningbo"},
	{"320506", "苏州市", "吴中区", "Suzhou"},
	{"320105", "南京市", "建邺区", "Nanjing"},
	{"350203", "厦门市", "思明区", "Xiamen"},
	{"430104", "长沙市", "岳麓区", "Changsha"},
	{"450103", "南宁市", "青秀区", "Nanning"},
	{"510107", "成都市", "武侯区", "Chengdu"},
	{"420106", "武汉市", "武昌区", "Wuhan"},
	{"360102", "南昌市", "东湖区", "Nanchang"},
}

// surname is a family name with its pinyin and a weight roughly following its
// frequency in Guangdong (陈, 李, 黄, 张, 梁 lead there, unlike nationally).
type surname struct {
	Han, Pinyin string
	Weight      int
}

var surnames = []surname{
	{"陈", "CHEN", 90}, {"李", "LI", 80}, {"黄", "HUANG", 70}, {"张", "ZHANG", 60},
	{"梁", "LIANG", 45}, {"林", "LIN", 40}, {"刘", "LIU", 40}, {"吴", "WU", 35},
	{"罗", "LUO", 30}, {"何", "HE", 30}, {"王", "WANG", 30}, {"郑", "ZHENG", 25},
	{"杨", "YANG", 22}, {"钟", "ZHONG", 20}, {"周", "ZHOU", 18}, {"谢", "XIE", 18},
	{"冯", "FENG", 16}, {"叶", "YE", 16}, {"曾", "ZENG", 16}, {"邓", "DENG", 15},
	{"赖", "LAI", 12}, {"卢", "LU", 12}, {"许", "XU", 12}, {"蔡", "CAI", 12},
	{"苏", "SU", 10}, {"潘", "PAN", 10}, {"朱", "ZHU", 10}, {"郭", "GUO", 10},
	{"徐", "XU", 9}, {"彭", "PENG", 9}, {"廖", "LIAO", 9}, {"谭", "TAN", 9},
	{"邱", "QIU", 8}, {"胡", "HU", 8}, {"余", "YU", 8}, {"欧阳", "OUYANG", 5},
	{"赵", "ZHAO", 7}, {"孙", "SUN", 6}, {"马", "MA", 6}, {"高", "GAO", 6},
	{"唐", "TANG", 6}, {"宋", "SONG", 5}, {"韩", "HAN", 5}, {"曹", "CAO", 5},
	{"莫", "MO", 5}, {"温", "WEN", 5}, {"方", "FANG", 5}, {"严", "YAN", 4},
	{"袁", "YUAN", 4}, {"杜", "DU", 4}, {"魏", "WEI", 4}, {"丁", "DING", 4},
	{"沈", "SHEN", 4}, {"姚", "YAO", 4}, {"江", "JIANG", 4}, {"龙", "LONG", 3},
	{"司徒", "SITU", 2}, {"麦", "MAI", 3}, {"古", "GU", 3}, {"洪", "HONG", 3},
}

// givenChar is one character of a given name with its pinyin.
type givenChar struct{ Han, Pinyin string }

var givenChars = []givenChar{
	{"伟", "WEI"}, {"芳", "FANG"}, {"娜", "NA"}, {"敏", "MIN"}, {"静", "JING"},
	{"丽", "LI"}, {"强", "QIANG"}, {"磊", "LEI"}, {"军", "JUN"}, {"洋", "YANG"},
	{"勇", "YONG"}, {"艳", "YAN"}, {"杰", "JIE"}, {"娟", "JUAN"}, {"涛", "TAO"},
	{"明", "MING"}, {"超", "CHAO"}, {"秀", "XIU"}, {"霞", "XIA"}, {"平", "PING"},
	{"刚", "GANG"}, {"桂", "GUI"}, {"英", "YING"}, {"华", "HUA"}, {"玉", "YU"},
	{"萍", "PING"}, {"红", "HONG"}, {"建", "JIAN"}, {"文", "WEN"}, {"辉", "HUI"},
	{"斌", "BIN"}, {"宇", "YU"}, {"浩", "HAO"}, {"凯", "KAI"}, {"健", "JIAN"},
	{"俊", "JUN"}, {"帆", "FAN"}, {"旭", "XU"}, {"宁", "NING"}, {"欢", "HUAN"},
	{"阳", "YANG"}, {"梅", "MEI"}, {"琳", "LIN"}, {"晶", "JING"}, {"婷", "TING"},
	{"雪", "XUE"}, {"慧", "HUI"}, {"佳", "JIA"}, {"嘉", "JIA"}, {"子", "ZI"},
	{"轩", "XUAN"}, {"涵", "HAN"}, {"怡", "YI"}, {"欣", "XIN"}, {"然", "RAN"},
	{"思", "SI"}, {"雨", "YU"}, {"博", "BO"}, {"志", "ZHI"}, {"鹏", "PENG"},
	{"海", "HAI"}, {"峰", "FENG"}, {"波", "BO"}, {"燕", "YAN"}, {"青", "QING"},
	{"春", "CHUN"}, {"国", "GUO"}, {"荣", "RONG"}, {"德", "DE"}, {"永", "YONG"},
	{"锦", "JIN"}, {"振", "ZHEN"}, {"晓", "XIAO"}, {"诗", "SHI"}, {"梓", "ZI"},
	{"睿", "RUI"}, {"泽", "ZE"}, {"铭", "MING"}, {"彤", "TONG"}, {"颖", "YING"},
	{"冬", "DONG"}, {"淑", "SHU"}, {"兰", "LAN"}, {"珍", "ZHEN"}, {"凤", "FENG"},
	{"丹", "DAN"}, {"雅", "YA"}, {"倩", "QIAN"}, {"瑞", "RUI"}, {"晨", "CHEN"},
	{"昊", "HAO"}, {"逸", "YI"}, {"家", "JIA"}, {"伦", "LUN"}, {"智", "ZHI"},
	{"坤", "KUN"}, {"桐", "TONG"}, {"妍", "YAN"}, {"乐", "LE"}, {"耀", "YAO"},
}

// tradeFirst and tradeSecond combine into two-character trade names (字号)
// such as 华盛 or 鸿达, the part of a Chinese company name that carries its
// identity. The characters are the auspicious ones that dominate real
// registrations; combinations are synthetic.
var (
	tradeFirst  = []rune("华鸿恒金瑞宏永新广盛富佳天德东南科博安信中万泰嘉誉宝隆锦明晟润祥启卓聚辰睿凯骏腾越弘昌荣众合创亿粤海星")
	tradeSecond = []rune("盛达通泰丰远利锐源世民美成信方雅联和华隆程辉禾瑞航越辰宇邦安森峰诚康晖顺业鑫泽旺讯")
)

// Industry identifiers, after the sections of GB/T 4754-2017.
const (
	indAgri         = "A" // 农、林、牧、渔业
	indManufacture  = "C" // 制造业
	indConstruction = "E" // 建筑业
	indWholesale    = "F1"
	indRetail       = "F2"
	indLogistics    = "G" // 交通运输、仓储和邮政业
	indCatering     = "H" // 住宿和餐饮业
	indIT           = "I" // 信息传输、软件和信息技术服务业
	indRealEstate   = "K" // 房地产业
	indBusinessSvc  = "L" // 租赁和商务服务业
	indTechSvc      = "M" // 科学研究和技术服务业
)

// industry describes how enterprises of one GB/T 4754 section make and spend
// money. Ratios are per mille of revenue. Sources, all rounded: cost of sales
// and margins from the National Bureau of Statistics' 2023 industrial-enterprise
// and services figures; monthly wages from the Guangdong Statistics Bureau's
// 2023 average wages of urban private and non-private units; VAT rates from the
// VAT law schedule (13 % goods, 9 % construction/transport/real estate, 6 %
// services); electricity shares from input-output tables (manufacturing
// spends several per cent of revenue on power, services well under one).
type industry struct {
	Code, Name string
	// Words are the business-scope words of company names (贸易, 电子科技, …).
	Words []string
	// Suppliers are the industries this one buys from inside the region.
	Suppliers []string
	// CostPermille is the cost of goods and services bought, per mille of
	// revenue (the rest pays wages, taxes, and profit).
	CostPermille int64
	// MarginPermille is the pre-tax profit margin (for the CIT prepayment).
	MarginPermille int64
	// VATPermille is the VAT rate on sales (130 = 13 %).
	VATPermille int64
	// WageYuan is the average gross monthly wage per employee.
	WageYuan int64
	// PowerPermille is electricity spend per mille of revenue.
	PowerPermille int64
	// CashTakings is true for trades that bank their takings as cash and card
	// settlements (retail, catering), and get card (POS) settlements.
	CashTakings bool
	// Exporter is the share (per mille) of enterprises that hold foreign
	// currency accounts for export receipts.
	ExporterPermille int
	// Weight is the industry's share of the region's enterprises.
	Weight int
	// Seasonal names the seasonal pattern this industry follows when its
	// enterprise has the seasonal profile.
	Seasonal season
}

// industries lists the region's industries. The weights approximate the
// composition of registered enterprises in the Pearl River Delta (wholesale
// and retail and business services lead by count, manufacturing by size).
var industries = []industry{
	{indAgri, "农、林、牧、渔业", []string{"农业发展", "生态农业", "水产养殖", "果蔬种植"},
		[]string{indLogistics, indWholesale}, 600, 60, 90, 5200, 15, false, 0, 3, seasonHarvest},
	{indManufacture, "制造业", []string{"电子科技", "五金制品", "塑胶制品", "服装", "家具", "机械设备", "食品", "印刷包装", "新材料", "照明电器"},
		[]string{indManufacture, indWholesale, indLogistics, indTechSvc}, 720, 60, 130, 6500, 35, false, 300, 18, seasonExport},
	{indConstruction, "建筑业", []string{"建筑工程", "装饰工程", "市政工程", "机电安装"},
		[]string{indManufacture, indWholesale, indLogistics}, 780, 35, 90, 7000, 8, false, 0, 8, seasonConstruction},
	{indWholesale, "批发业", []string{"贸易", "商贸", "进出口", "实业", "供应链管理"},
		[]string{indManufacture, indAgri, indLogistics}, 850, 30, 130, 6200, 4, false, 200, 20, seasonSpringFestival},
	{indRetail, "零售业", []string{"百货", "超市", "商行", "电子商务", "母婴用品"},
		[]string{indWholesale, indManufacture, indLogistics}, 780, 35, 130, 5500, 10, true, 0, 14, seasonRetail},
	{indLogistics, "交通运输、仓储和邮政业", []string{"物流", "货运代理", "仓储服务", "运输"},
		[]string{indWholesale, indManufacture}, 650, 50, 90, 7500, 8, false, 100, 6, seasonExport},
	{indCatering, "住宿和餐饮业", []string{"餐饮管理", "酒店管理", "饮食", "茶餐厅"},
		[]string{indAgri, indWholesale}, 600, 60, 60, 5000, 30, true, 0, 8, seasonSpringFestival},
	{indIT, "信息传输、软件和信息技术服务业", []string{"网络科技", "信息技术", "软件", "数据科技"},
		[]string{indIT, indTechSvc, indBusinessSvc}, 450, 120, 60, 15000, 5, false, 100, 9, seasonNone},
	{indRealEstate, "房地产业", []string{"房地产开发", "物业管理", "置业"},
		[]string{indConstruction, indBusinessSvc}, 700, 80, 90, 8000, 6, false, 0, 3, seasonNone},
	{indBusinessSvc, "租赁和商务服务业", []string{"商务咨询", "企业管理咨询", "投资管理", "人力资源", "广告"},
		[]string{indBusinessSvc, indIT}, 500, 90, 60, 9000, 3, false, 0, 8, seasonNone},
	{indTechSvc, "科学研究和技术服务业", []string{"检测技术", "工程设计", "生物科技", "环保科技"},
		[]string{indManufacture, indIT, indBusinessSvc}, 500, 100, 60, 11000, 6, false, 50, 3, seasonNone},
}

// industryIndex returns the position of code in industries, or -1.
func industryIndex(code string) int {
	for i := range industries {
		if industries[i].Code == code {
			return i
		}
	}
	return -1
}

// Enterprise sizes after the MIIT/NBS/NDRC/MOF SME classification (工信部联企业
// 〔2011〕300号 《中小企业划型标准规定》); the ranges are the industrial
// thresholds (employees and annual revenue), which the other sectors follow
// closely enough for synthetic data.
const (
	sizeMicro  = "micro"  // < 20 employees or < 3 million yuan revenue
	sizeSmall  = "small"  // 20–300 employees, 3–20 million yuan
	sizeMedium = "medium" // 300–1,000 employees, 20–400 million yuan
	sizeLarge  = "large"  // ≥ 1,000 employees, ≥ 400 million yuan
)

// sizeClass holds the ranges each size is drawn from and how busy its
// accounts are.
type sizeClass struct {
	Name               string
	MinEmp, MaxEmp     int
	MinRevYuan         int64 // annual revenue
	MaxRevYuan         int64
	Weight             int   // share of enterprises (per mille)
	PaymentsMilli      int64 // mean purchase payments per business day ×1000
	ReceiptsMilli      int64 // mean external receipts per business day ×1000
	Suppliers          int   // in-region suppliers
	GeneralAccounts    int   // extra general accounts at other banks (max)
	LoanPermille       int   // share with a working-capital loan
	TimeDepositPermill int   // share holding a time deposit
}

// sizeClasses: the weights follow the fourth economic census (2018): micro
// enterprises are the large majority by count; medium and large enterprises
// are over-represented here because they carry most of the payment volume
// and a lender's interest.
var sizeClasses = []sizeClass{
	{sizeMicro, 3, 19, 800_000, 3_000_000, 450, 1200, 1000, 2, 0, 100, 20},
	{sizeSmall, 20, 299, 3_000_000, 20_000_000, 350, 3500, 2500, 3, 1, 400, 150},
	{sizeMedium, 300, 999, 20_000_000, 400_000_000, 160, 11000, 7000, 5, 2, 600, 400},
	{sizeLarge, 1000, 5000, 400_000_000, 3_000_000_000, 40, 45000, 30000, 8, 3, 700, 700},
}
