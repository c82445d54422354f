"""Realistic demo customers: a pure, deterministic generator for `make seed` and `make bench`.

Nothing here touches a database or a broker. Every customer is a function of
``(seed, index)`` alone, so any slice of the sequence can be produced on its own (the
benchmark builds a million rows in chunks; ``make seed`` continues after what is already
there) and the same seed always gives the same data.

Two outputs:

* :func:`generate` -> :class:`DemoData`: ``customers`` in the exact input shape of
  ``guanxi_common.contracts.customer.CustomerCreateSchema`` (strings on the wire, phones in varied written
  forms), plus a ``relationships`` plan (holding groups 2-3 levels deep, employer_of
  company -> person, contact_person_of person -> company) and ``status_changes`` (some
  customers later become lost or blocked: new customers start as prospect or active).
* :func:`bulk_rows` -> batches of ready-made rows for a direct bulk insert into
  ``customers``, ``contact_points``, ``name_tokens``, ``customer_roles`` and
  ``customer_tags`` (columns exactly as ``customer/adapters/models.py``), computed with the same
  domain functions the service uses (``names.index_tokens``, ``names.search_normalize``,
  the match key of ``customer.queries.duplicates.match_key``).

Uniqueness: credit codes, phones and e-mails are derived from the index through
bijective scrambles, so they never repeat within ``MAX_INDEX`` customers.
"""
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from customer.domain import lifecycle, names, relationships
from guanxi_common import identifiers

#: Bump when the output for a given (seed, index) changes: cached benchmark databases
#: are keyed by it.
GENERATOR_VERSION = 3
DEFAULT_SEED = 20261123
#: Indexes below this get unique phones, e-mails and credit codes.
MAX_INDEX = 70_000_000
#: Owners are rep-001 .. rep-040; about this share of customers is in the pool.
REPS = tuple(f"rep-{i:03d}" for i in range(1, 41))
POOL_SHARE = 0.30
#: Bulk rows are created over the three years before this moment (fixed: reproducible).
EPOCH = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
_HISTORY_SECONDS = 3 * 365 * 86400

# ---- names ------------------------------------------------------------------------------------

# (surname, pinyin, weight ~ share of the population in per mille)
SURNAMES = (
    ("王", "wang", 71), ("李", "li", 70), ("张", "zhang", 67), ("刘", "liu", 54), ("陈", "chen", 45),
    ("杨", "yang", 31), ("黄", "huang", 22), ("赵", "zhao", 20), ("吴", "wu", 19), ("周", "zhou", 18),
    ("徐", "xu", 13), ("孙", "sun", 12), ("马", "ma", 12), ("朱", "zhu", 11), ("胡", "hu", 11),
    ("郭", "guo", 10), ("何", "he", 9), ("高", "gao", 9), ("林", "lin", 9), ("罗", "luo", 8),
    ("郑", "zheng", 8), ("梁", "liang", 7), ("谢", "xie", 6), ("宋", "song", 6), ("唐", "tang", 6),
    ("许", "xu", 5), ("韩", "han", 5), ("冯", "feng", 5), ("邓", "deng", 5), ("曹", "cao", 5),
    ("彭", "peng", 5), ("曾", "zeng", 4), ("肖", "xiao", 4), ("田", "tian", 4), ("董", "dong", 4),
    ("袁", "yuan", 4), ("潘", "pan", 4), ("于", "yu", 4), ("蒋", "jiang", 4), ("蔡", "cai", 4),
    ("余", "yu", 4), ("杜", "du", 4), ("叶", "ye", 3), ("程", "cheng", 3), ("苏", "su", 3),
    ("魏", "wei", 3), ("吕", "lv", 3), ("丁", "ding", 3), ("任", "ren", 3), ("沈", "shen", 3),
    ("姚", "yao", 3), ("卢", "lu", 3), ("姜", "jiang", 3), ("崔", "cui", 3), ("钟", "zhong", 3),
    ("谭", "tan", 2), ("陆", "lu", 2), ("汪", "wang", 2), ("范", "fan", 2), ("金", "jin", 2),
    ("石", "shi", 2), ("廖", "liao", 2), ("贾", "jia", 2), ("夏", "xia", 2), ("韦", "wei", 2),
    ("方", "fang", 2), ("白", "bai", 2), ("邹", "zou", 2), ("孟", "meng", 2), ("熊", "xiong", 2),
    ("秦", "qin", 2), ("邱", "qiu", 2), ("江", "jiang", 2), ("尹", "yin", 2), ("薛", "xue", 2),
    ("欧阳", "ouyang", 1), ("司马", "sima", 1), ("诸葛", "zhuge", 1), ("上官", "shangguan", 1),
)
# Whole given names people really have (name, pinyin, gender, weight): these make
# two-character queries such as 张伟 or 王芳 hit several customers.
COMMON_GIVEN = (
    ("伟", "wei", "male", 30), ("芳", "fang", "female", 26), ("娜", "na", "female", 22),
    ("秀英", "xiuying", "female", 20), ("敏", "min", "female", 20), ("静", "jing", "female", 20),
    ("丽", "li", "female", 18), ("强", "qiang", "male", 18), ("磊", "lei", "male", 17),
    ("军", "jun", "male", 17), ("洋", "yang", "male", 15), ("勇", "yong", "male", 15),
    ("艳", "yan", "female", 15), ("杰", "jie", "male", 15), ("娟", "juan", "female", 13),
    ("涛", "tao", "male", 13), ("明", "ming", "male", 12), ("超", "chao", "male", 12),
    ("秀兰", "xiulan", "female", 11), ("霞", "xia", "female", 11), ("平", "ping", "male", 10),
    ("刚", "gang", "male", 10), ("桂英", "guiying", "female", 9), ("建华", "jianhua", "male", 8),
    ("建国", "jianguo", "male", 8), ("志强", "zhiqiang", "male", 8), ("晓明", "xiaoming", "male", 7),
    ("欣怡", "xinyi", "female", 7), ("子涵", "zihan", "female", 7), ("浩然", "haoran", "male", 7),
    ("宇轩", "yuxuan", "male", 6), ("梓涵", "zihan", "female", 6), ("一诺", "yinuo", "female", 5),
)
GIVEN_CHARS = {
    "male": tuple(tuple(s.split(":")) for s in (
        "伟:wei 强:qiang 磊:lei 军:jun 洋:yang 勇:yong 杰:jie 涛:tao 明:ming 超:chao 刚:gang "
        "平:ping 辉:hui 鹏:peng 华:hua 飞:fei 鑫:xin 波:bo 斌:bin 宇:yu 浩:hao 凯:kai 健:jian "
        "俊:jun 帆:fan 帅:shuai 旭:xu 宁:ning 龙:long 林:lin 峰:feng 建:jian 国:guo 志:zhi "
        "文:wen 博:bo 晨:chen 轩:xuan 然:ran 睿:rui 泽:ze 天:tian 海:hai 东:dong 亮:liang").split()),
    "female": tuple(tuple(s.split(":")) for s in (
        "芳:fang 娜:na 敏:min 静:jing 丽:li 艳:yan 娟:juan 霞:xia 秀:xiu 英:ying 玲:ling 桂:gui "
        "兰:lan 婷:ting 雪:xue 慧:hui 琳:lin 颖:ying 倩:qian 洁:jie 琴:qin 云:yun 莉:li 梅:mei "
        "燕:yan 红:hong 晶:jing 欣:xin 怡:yi 萱:xuan 涵:han 诗:shi 雨:yu 佳:jia 悦:yue 思:si "
        "梦:meng").split()),
}
ENGLISH_FIRST = {
    "male": ("James", "John", "Robert", "Michael", "David", "William", "Richard", "Thomas",
             "Daniel", "Matthew", "Andrew", "Peter", "Mark", "Paul", "Kevin", "Brian", "Oliver"),
    "female": ("Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Susan", "Jessica", "Sarah",
               "Karen", "Emily", "Emma", "Olivia", "Sophia", "Grace", "Anna", "Laura", "Helen"),
}
ENGLISH_LAST = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
                "Taylor", "Anderson", "Thomas", "Moore", "Martin", "Jackson", "White", "Harris",
                "Clark", "Lewis", "Walker", "Young", "King", "Wright", "Scott", "Green", "Baker",
                "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Turner", "Parker")

# ---- regions ----------------------------------------------------------------------------------

# province -> [(city, GB/T 2260 district code, telephone area code without the trunk 0)]
REGIONS = {
    "北京": [("北京", "110105", "10")], "天津": [("天津", "120101", "22")],
    "上海": [("上海", "310115", "21")], "重庆": [("重庆", "500103", "23")],
    "河北": [("石家庄", "130102", "311"), ("唐山", "130202", "315")],
    "山西": [("太原", "140105", "351")], "内蒙古": [("呼和浩特", "150102", "471")],
    "辽宁": [("沈阳", "210102", "24"), ("大连", "210202", "411")],
    "吉林": [("长春", "220102", "431")], "黑龙江": [("哈尔滨", "230102", "451")],
    "江苏": [("南京", "320102", "25"), ("苏州", "320505", "512"), ("无锡", "320211", "510")],
    "浙江": [("杭州", "330106", "571"), ("宁波", "330203", "574"), ("温州", "330302", "577")],
    "安徽": [("合肥", "340102", "551")],
    "福建": [("福州", "350102", "591"), ("厦门", "350203", "592")],
    "江西": [("南昌", "360102", "791")],
    "山东": [("济南", "370102", "531"), ("青岛", "370202", "532")],
    "河南": [("郑州", "410102", "371")], "湖北": [("武汉", "420102", "27")],
    "湖南": [("长沙", "430102", "731")],
    "广东": [("广州", "440106", "20"), ("深圳", "440305", "755"), ("东莞", "441900", "769"),
             ("佛山", "440604", "757")],
    "广西": [("南宁", "450102", "771")], "海南": [("海口", "460105", "898")],
    "四川": [("成都", "510104", "28")], "贵州": [("贵阳", "520102", "851")],
    "云南": [("昆明", "530102", "871")], "西藏": [("拉萨", "540102", "891")],
    "陕西": [("西安", "610102", "29")], "甘肃": [("兰州", "620102", "931")],
    "青海": [("西宁", "630102", "971")], "宁夏": [("银川", "640104", "951")],
    "新疆": [("乌鲁木齐", "650102", "991")],
}
# Customers cluster where the economy is: weight per province.
PROVINCE_WEIGHTS = {
    "广东": 14, "江苏": 11, "浙江": 10, "上海": 9, "北京": 9, "山东": 7, "四川": 5, "福建": 5,
    "湖北": 4, "河南": 4, "湖南": 3, "天津": 3, "重庆": 3, "安徽": 3, "陕西": 3, "河北": 3,
    "辽宁": 2, "江西": 2, "广西": 2, "云南": 2, "山西": 1, "吉林": 1, "黑龙江": 1, "贵州": 1,
    "内蒙古": 1, "新疆": 1, "海南": 1, "甘肃": 1, "宁夏": 1, "青海": 1, "西藏": 1,
}
PROVINCES = tuple(PROVINCE_WEIGHTS)
ROADS = ("人民路", "解放路", "中山路", "建设路", "和平路", "新华路", "长江路", "黄河路", "科技园路",
         "学府路", "滨海大道", "世纪大道", "东风路", "南京路", "深南大道", "天府大道")

# ---- companies --------------------------------------------------------------------------------

BRAND_CHARS = tuple(tuple(s.split(":")) for s in (
    "华:hua 恒:heng 鼎:ding 金:jin 宏:hong 瑞:rui 天:tian 中:zhong 新:xin 远:yuan 达:da "
    "盛:sheng 泰:tai 隆:long 鑫:xin 源:yuan 丰:feng 信:xin 通:tong 安:an 博:bo 创:chuang "
    "嘉:jia 康:kang 利:li 明:ming 润:run 森:sen 腾:teng 旭:xu 亿:yi 永:yong 卓:zhuo 志:zhi "
    "众:zhong 凯:kai 峰:feng 海:hai 和:he 汇:hui 佳:jia 锦:jin 骏:jun 美:mei 铭:ming 启:qi "
    "荣:rong 尚:shang 德:de 光:guang").split())
# (word in the name, industry field, roles typical of it)
INDUSTRIES = (
    ("科技", "信息技术", ("sold_to", "bill_to", "payer")),
    ("网络科技", "互联网", ("sold_to", "bill_to", "payer", "partner")),
    ("信息技术", "信息技术", ("sold_to", "payer", "partner")),
    ("电子", "电子制造", ("sold_to", "ship_to", "supplier")),
    ("贸易", "批发零售", ("sold_to", "ship_to", "dealer")),
    ("商贸", "批发零售", ("dealer", "ship_to", "payer")),
    ("实业", "制造业", ("sold_to", "ship_to", "bill_to")),
    ("机械制造", "装备制造", ("sold_to", "ship_to", "supplier")),
    ("物流", "交通运输", ("supplier", "partner")),
    ("医药", "医药健康", ("sold_to", "ship_to", "bill_to", "payer")),
    ("生物科技", "医药健康", ("sold_to", "partner")),
    ("食品", "食品饮料", ("sold_to", "ship_to", "dealer")),
    ("酒店管理", "住宿餐饮", ("sold_to", "end_user")),
    ("餐饮管理", "住宿餐饮", ("end_user", "payer")),
    ("建设工程", "建筑业", ("sold_to", "payer", "debtor")),
    ("新能源", "能源", ("sold_to", "ship_to", "partner")),
    ("化工", "化工", ("sold_to", "ship_to", "supplier")),
    ("纺织", "纺织服装", ("supplier", "ship_to")),
    ("服饰", "纺织服装", ("dealer", "ship_to")),
    ("汽车销售", "汽车", ("dealer", "agent", "sold_to")),
    ("文化传媒", "文化传媒", ("sold_to", "partner")),
    ("教育科技", "教育", ("sold_to", "end_user")),
    ("投资", "金融", ("payer", "creditor")),
    ("咨询", "商务服务", ("partner", "agent")),
    ("农业发展", "农业", ("supplier", "sold_to")),
    ("房地产开发", "房地产", ("sold_to", "debtor", "payer")),
)
LEGAL_FORMS = (("有限公司", 70), ("股份有限公司", 15), ("有限责任公司", 15))
ENGLISH_BRANDS = ("Pacific", "Evergreen", "Golden Bridge", "Silverline", "Northstar", "Harbour",
                  "Bluewater", "Summit", "Orient", "Jade River", "Red Lantern", "Lotus", "Dragon Gate",
                  "Great Wall", "Pearl Delta", "Kingsway", "Crescent", "Maple", "Sunrise", "Vertex")
ENGLISH_INDUSTRIES = (("Trading", "批发零售"), ("Logistics", "交通运输"), ("Electronics", "电子制造"),
                      ("Technology", "信息技术"), ("Pharmaceuticals", "医药健康"),
                      ("Hospitality", "住宿餐饮"), ("Machinery", "装备制造"), ("Foods", "食品饮料"),
                      ("Consulting", "商务服务"), ("Energy", "能源"))
ENGLISH_FORMS = ("Co., Ltd.", "Co., Ltd.", "Co., Ltd.", "Limited", "Holdings Ltd.")
ENGLISH_CITIES = {"上海": "Shanghai", "北京": "Beijing", "深圳": "Shenzhen", "广州": "Guangzhou",
                  "苏州": "Suzhou", "杭州": "Hangzhou", "天津": "Tianjin", "厦门": "Xiamen",
                  "青岛": "Qingdao", "大连": "Dalian", "成都": "Chengdu", "武汉": "Wuhan"}

# ---- the rest ---------------------------------------------------------------------------------

PERSON_ROLES = ("end_user", "contact", "guest", "employee", "sold_to", "payer")
TAGS = ("VIP", "老客户", "重点跟进", "展会线索", "线上渠道", "转介绍", "年度大客户", "高潜力",
        "价格敏感", "需回访", "hotel-guest", "wechat", "exporter", "政府采购")
PERSON_EMAIL_DOMAINS = ("163.com", "qq.com", "126.com", "sina.com", "foxmail.com", "gmail.com",
                        "outlook.com", "yeah.net")
MOBILE_PREFIXES = ("130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150",
                   "151", "152", "153", "155", "156", "157", "158", "159", "166", "170", "173",
                   "175", "176", "177", "178", "180", "181", "182", "183", "185", "186", "187",
                   "188", "189", "191", "198", "199")
STATUS_AT_CREATE = (("prospect", 40), ("active", 60))
#: Share of customers that later become lost / blocked (applied after creation).
LATER_LOST, LATER_BLOCKED = 0.08, 0.03
ROLE_CODES = frozenset(r.code for r in relationships.DEFAULT_ROLES)

# Mix of party kinds (weights).
KINDS = (("person_cn", 55), ("person_en", 8), ("company_cn", 30), ("company_en", 7))


def _weighted(pairs):
    items = tuple(p[0] for p in pairs)
    cum, total = [], 0
    for p in pairs:
        total += p[-1]
        cum.append(total)
    return items, tuple(cum)


_KIND_W = _weighted(KINDS)
_SURNAME_W = _weighted([(s, w) for s, _, w in SURNAMES])
_SURNAME_PY = {s: py for s, py, _ in SURNAMES}
_GIVEN_W = _weighted([((g, py, sex), w) for g, py, sex, w in COMMON_GIVEN])
_PROVINCE_W = _weighted(list(PROVINCE_WEIGHTS.items()))
_FORM_W = _weighted(LEGAL_FORMS)
_STATUS_W = _weighted(STATUS_AT_CREATE)


def _pick(rng, weighted):
    items, cum = weighted
    return rng.choices(items, cum_weights=cum)[0]


# ---- bijective scrambles: unique values that look random -------------------------------------

def _scramble(n, modulus, multiplier, offset):
    """``n -> (n * multiplier + offset) mod modulus``: a bijection on [0, modulus) when
    gcd(multiplier, modulus) == 1 (all multipliers below are odd primes coprime with
    their modulus), so distinct indexes give distinct values."""
    return (n * multiplier + offset) % modulus


_MOBILE_SPACE = len(MOBILE_PREFIXES) * 100_000_000
_LANDLINE_SPACE = 70_000_000
_CODE_SPACE = 31 ** 9
_BASE31 = identifiers.CREDIT_CODE_CHARSET
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def mobile_for(index, slot=0):
    """The E.164 mobile of customer ``index`` (slot 0: first phone, 1: second)."""
    k = _scramble(index * 2 + slot, _MOBILE_SPACE, 2_654_435_761, 12_345_677)
    prefix, subscriber = divmod(k, 100_000_000)
    return f"+86{MOBILE_PREFIXES[prefix]}{subscriber:08d}"


def landline_for(index, area):
    """An E.164 landline in area ``area`` (e.g. "755"), unique per index."""
    subscriber = 20_000_000 + _scramble(index, _LANDLINE_SPACE, 2_246_822_519, 3_141_592)
    if area in ("10", "21") and subscriber // 100_000 == 800:  # not assigned in Beijing and Shanghai
        subscriber += 10_000_000  # 900xxxxx lies outside the range above: still unique
    return f"+86{area}{subscriber}"


def credit_code_for(index, region_code):
    """A valid unified social credit code: 9 (market regulation), 1 (enterprise), the
    region code, a 9-character organisation code unique per index, the check character."""
    k = _scramble(index, _CODE_SPACE, 3_266_489_917, 987_654_321)
    org = []
    for _ in range(9):
        k, r = divmod(k, 31)
        org.append(_BASE31[r])
    return identifiers.make_credit_code("91" + region_code + "".join(org))


def _suffix(index):
    """A short tag unique per index, for e-mail addresses and domains."""
    k = _scramble(index, 36 ** 6, 668_265_263, 7_777_777)
    out = ""
    for _ in range(6):
        k, r = divmod(k, 36)
        out += _B36[r]
    return out


def written_forms(e164):
    """Ways people write a Chinese number, all normalising to ``e164``."""
    nsn = e164[3:]
    if len(nsn) == 11 and nsn[0] == "1":  # mobile
        a, b, c = nsn[:3], nsn[3:7], nsn[7:]
        return (nsn, f"{a} {b} {c}", f"{a}-{b}-{c}", f"+86 {a} {b} {c}", f"0086{nsn}",
                f"+86-{a}-{b}-{c}", f"86 {a} {b} {c}")
    area = nsn[:2] if nsn.startswith(("10", "2")) else nsn[:3]
    local = nsn[len(area):]
    return (f"0{area}-{local}", f"(0{area}) {local}", f"+86 {area} {local}", f"0{area}{local}")


# ---- one customer -----------------------------------------------------------------------------

@dataclass
class Spec:
    """Everything about one demo customer, in canonical (stored) form."""

    index: int
    id: str
    kind: str
    party_type: str
    name: str
    status: str          # at creation: prospect or active
    final_status: str    # after the later changes (lost, blocked) of some customers
    tier: str
    province: str
    city: str
    owner_id: str | None
    phones: list         # [(e164, label, is_primary)]
    emails: list         # [(address, label, is_primary)]
    roles: list
    tags: list
    marketing_consent: bool
    credit_limit: Decimal | None
    credit_currency: str
    credit_policy: str
    preferences: dict
    address: dict | None
    created_at: datetime
    gender: str | None = None
    birth_date: date | None = None
    marital_status: str | None = None
    industry: str | None = None
    founded_on: date | None = None
    registered_capital: Decimal | None = None
    credit_code: str | None = None
    financials: list = field(default_factory=list)
    # Chinese company name parts, so a holding group can rename its members consistently
    brand: tuple | None = None
    industry_word: str | None = None
    legal_form: str | None = None


def _rng(seed, index):
    return random.Random(seed * 1_000_003 + index * 7_919 + 17)


def spec(index, seed=DEFAULT_SEED):
    """The demo customer number ``index`` (0-based) of ``seed``."""
    if not 0 <= index < MAX_INDEX:
        raise ValueError(f"index must be in [0, {MAX_INDEX})")
    rng = _rng(seed, index)
    kind = _pick(rng, _KIND_W)
    province = _pick(rng, _PROVINCE_W)
    city, region_code, area = rng.choice(REGIONS[province])
    owner = None if rng.random() < POOL_SHARE else rng.choice(REPS)
    status = _pick(rng, _STATUS_W)
    roll, final_status = rng.random(), status
    if roll < LATER_LOST:
        final_status = "lost"
    elif roll < LATER_LOST + LATER_BLOCKED:
        final_status = "blocked"
    tier = rng.choices(lifecycle.TIERS, weights=(10, 25, 65))[0]
    tags = sorted(rng.sample(TAGS, rng.choice((0, 0, 1, 1, 1, 2, 3))))
    created = EPOCH - timedelta(seconds=_HISTORY_SECONDS - (index * 90) % _HISTORY_SECONDS)
    common = dict(index=index, id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                  kind=kind, status=status, final_status=final_status, tier=tier,
                  province=province, city=city, owner_id=owner, tags=tags,
                  marketing_consent=rng.random() < 0.4, created_at=created)
    address = None
    if rng.random() < 0.6:
        address = {"type": "office" if kind.startswith("company") else "home", "country": "CN",
                   "province": province, "city": city,
                   "street": f"{rng.choice(ROADS)}{rng.randint(1, 999)}号", "is_default": True}
    if kind.startswith("person"):
        return _person(rng, kind, common, address)
    return _company(rng, kind, common, address, region_code, area)


def _person(rng, kind, common, address):
    index = common["index"]
    if kind == "person_cn":
        surname = _pick(rng, _SURNAME_W)
        if rng.random() < 0.45:
            given, given_py, gender = _pick(rng, _GIVEN_W)
        else:
            gender = rng.choice(("male", "female"))
            chars = GIVEN_CHARS[gender]
            parts = [rng.choice(chars) for _ in range(1 if rng.random() < 0.25 else 2)]
            given, given_py = "".join(p[0] for p in parts), "".join(p[1] for p in parts)
        name = surname + given
        local = f"{_SURNAME_PY[surname]}{given_py}.{_suffix(index)}"
        domain = rng.choice(PERSON_EMAIL_DOMAINS)
    else:
        gender = rng.choice(("male", "female"))
        first, last = rng.choice(ENGLISH_FIRST[gender]), rng.choice(ENGLISH_LAST)
        name = f"{first} {last}"
        local = f"{first.lower()}.{last.lower()}.{_suffix(index)}"
        domain = rng.choice(("gmail.com", "outlook.com", "hotmail.com", "yahoo.com"))
    if rng.random() < 0.03:
        gender = "unknown"
    phones = [(mobile_for(index, 0), "mobile", True)]
    if rng.random() < 0.15:
        phones.append((mobile_for(index, 1), "work", False))
    emails = [(f"{local}@{domain}", "personal", True)] if rng.random() < 0.75 else []
    birth = date(1955, 1, 1) + timedelta(days=rng.randrange(0, 365 * 50))
    has_credit = rng.random() < 0.1
    preferences = {}
    if rng.random() < 0.2:
        preferences = {"favourite_room": f"{rng.randint(3, 28)}{rng.randint(1, 30):02d}",
                       "pillow": rng.choice(("soft", "firm")),
                       "language": "en" if kind == "person_en" else "zh-CN"}
    roles = sorted(rng.sample(PERSON_ROLES, rng.choice((0, 1, 1, 2))))
    return Spec(**common, party_type="person", name=name, phones=phones, emails=emails,
                roles=roles, preferences=preferences, address=address,
                credit_limit=Decimal(rng.choice((5000, 10000, 20000, 50000))) if has_credit else None,
                credit_currency="CNY",
                credit_policy=rng.choice(("warn", "block")) if has_credit else "none",
                gender=gender, birth_date=birth,
                marital_status=rng.choice(("single", "married", "married", "divorced", "unknown")))


def _company(rng, kind, common, address, region_code, area):
    index, city = common["index"], common["city"]
    brand = word = form = None
    if kind == "company_cn":
        brand = tuple(rng.sample(BRAND_CHARS, 2))
        word, industry, typical_roles = rng.choice(INDUSTRIES)
        form = _pick(rng, _FORM_W)
        name = company_name(city, brand, word, form)
        domain = f"{brand[0][1]}{brand[1][1]}-{_suffix(index)}.com.cn"
        currency = "CNY"
    else:
        brand_en = rng.choice(ENGLISH_BRANDS)
        word_en, industry = rng.choice(ENGLISH_INDUSTRIES)
        typical_roles = ("sold_to", "ship_to", "bill_to", "payer")
        place = ENGLISH_CITIES.get(city)
        form_en = rng.choice(ENGLISH_FORMS)
        name = (f"{brand_en} {word_en} ({place}) {form_en}" if place and rng.random() < 0.5
                else f"{brand_en} {word_en} {form_en}")
        domain = f"{brand_en.lower().replace(' ', '')}-{_suffix(index)}.com"
        currency = rng.choice(("CNY", "CNY", "USD", "HKD"))
    phones = [(landline_for(index, area), "office", True)]
    if rng.random() < 0.6:
        phones.append((mobile_for(index, 0), "sales", False))
    emails = [(f"{rng.choice(('info', 'sales', 'service', 'contact'))}@{domain}", "office", True)]
    if rng.random() < 0.3:
        emails.append((f"finance@{domain}", "finance", False))
    founded = date(1985, 1, 1) + timedelta(days=rng.randrange(0, 365 * 38))
    capital = Decimal(rng.choice((100, 200, 500, 1000, 2000, 5000, 10000, 50000))) * 10_000
    roles = sorted(rng.sample(typical_roles, rng.randint(1, len(typical_roles))))
    policy = rng.choices(lifecycle.CREDIT_POLICIES, weights=(30, 45, 25))[0]
    limit = None
    if policy != "none" or rng.random() < 0.3:
        limit = Decimal(rng.choice((50, 100, 200, 300, 500, 1000, 2000, 5000))) * 1000
    financials = []
    revenue = capital * Decimal(rng.randint(2, 40)) / 10
    for year in range(2025 - rng.randint(1, 2), 2026):
        revenue = (revenue * Decimal(rng.randint(85, 130)) / 100).quantize(Decimal("0.01"))
        margin = Decimal(rng.randint(-8, 18)) / 100
        financials.append({"fiscal_year": year, "currency": "CNY", "revenue": revenue,
                           "net_profit": (revenue * margin).quantize(Decimal("0.01")),
                           "total_assets": (revenue * Decimal(rng.randint(60, 250)) / 100)
                           .quantize(Decimal("0.01"))})
    preferences = {}
    if rng.random() < 0.3:
        preferences = {"invoice_type": rng.choice(("增值税专用发票", "增值税普通发票")),
                       "payment_terms_days": rng.choice((30, 45, 60, 90))}
    return Spec(**common, party_type="company", name=name, phones=phones, emails=emails,
                roles=roles, preferences=preferences, address=address, credit_limit=limit,
                credit_currency=currency, credit_policy=policy, industry=industry,
                founded_on=founded, registered_capital=capital,
                credit_code=credit_code_for(index, region_code), financials=financials,
                brand=brand, industry_word=word, legal_form=form)


def brand_text(brand):
    return brand[0][0] + brand[1][0]


def company_name(city, brand, word, form):
    """"深圳" + (("恒", …), ("达", …)) + "电子" + "有限公司" -> "深圳市恒达电子有限公司"."""
    prefix = city if city in ("北京", "上海", "天津", "重庆") else city + "市"
    return f"{prefix}{brand_text(brand)}{word}{form}"


def holding_name(brand, form="有限公司"):
    """The holding of a group: "恒达集团有限公司" or "恒达控股集团有限公司"."""
    word = "集团" if (ord(brand[0][0]) + ord(brand[1][0])) % 3 else "控股集团"
    return f"{brand_text(brand)}{word}{form}"


# ---- the create input (CustomerCreateSchema) --------------------------------------------------

def _money(value):
    return None if value is None else f"{value:.2f}"


def create_input(s, rng=None):
    """The CustomerCreateSchema input of a spec: strings on the wire, phones written the
    way people write them."""
    rng = rng or random.Random(s.index)
    record = {
        "party_type": s.party_type, "name": s.name, "status": s.status, "tier": s.tier,
        "province": s.province, "city": s.city, "owner_id": s.owner_id,
        "tags": list(s.tags), "roles": list(s.roles),
        "phones": [{"value": rng.choice(written_forms(v)), "label": label, "is_primary": primary}
                   for v, label, primary in s.phones],
        "emails": [{"value": v, "label": label, "is_primary": primary}
                   for v, label, primary in s.emails],
        "addresses": [dict(s.address)] if s.address else [],
        "preferences": dict(s.preferences),
        "marketing_consent": s.marketing_consent,
        "credit_limit": _money(s.credit_limit),
        "credit_currency": s.credit_currency,
        "credit_policy": s.credit_policy,
    }
    if s.party_type == "person":
        record.update(gender=s.gender, birth_date=s.birth_date.isoformat(),
                      marital_status=s.marital_status)
    else:
        record.update(industry=s.industry, founded_on=s.founded_on.isoformat(),
                      registered_capital=_money(s.registered_capital),
                      registered_capital_currency="CNY", credit_code=s.credit_code,
                      financials=[{"fiscal_year": f["fiscal_year"], "currency": f["currency"],
                                   "revenue": _money(f["revenue"]),
                                   "net_profit": _money(f["net_profit"]),
                                   "total_assets": _money(f["total_assets"])}
                                  for f in s.financials])
    return record


# ---- a batch with its relationship plan -------------------------------------------------------

@dataclass
class DemoData:
    """``customers[i]`` is the create input of index ``start + i``; ``relationships`` and
    ``status_changes`` refer to customers by their position ``i`` in ``customers``."""

    start: int
    customers: list
    relationships: list   # {"type", "from", "to", "valid_from"?}
    status_changes: list  # (position, status)
    specs: list


def generate(count, seed=DEFAULT_SEED, start=0):
    """``count`` customers from index ``start``, with their relationships (module doc)."""
    specs = [spec(start + i, seed) for i in range(count)]
    rng = random.Random(seed * 31 + start)
    rels = _plan_groups(specs, rng)
    companies = [i for i, s in enumerate(specs) if s.party_type == "company"]
    persons = [i for i, s in enumerate(specs) if s.party_type == "person"]
    if companies and persons:
        for p in persons:
            if rng.random() < 0.4:
                rels.append({"type": "employer_of", "from": rng.choice(companies), "to": p,
                             "valid_from": _date_between(rng, 2012, 2025)})
        for c in companies:
            if rng.random() < 0.6:
                rels.append({"type": "contact_person_of", "from": rng.choice(persons), "to": c})
    changes = [(i, s.final_status) for i, s in enumerate(specs) if s.final_status != s.status]
    records = [create_input(s, random.Random(seed + s.index)) for s in specs]
    return DemoData(start, records, rels, changes, specs)


def _date_between(rng, first_year, last_year):
    day = date(first_year, 1, 1) + timedelta(days=rng.randrange(0, 365 * (last_year - first_year)))
    return day.isoformat()


def _plan_groups(specs, rng):
    """Holding groups among the Chinese companies: about one per 12 of them, 4-9 members,
    subsidiaries two to three levels deep; the members take the holding's brand."""
    chinese = [i for i, s in enumerate(specs) if s.kind == "company_cn"]
    rng.shuffle(chinese)
    rels = []
    for pos in range(0, len(chinese) - 4, 12):
        members = chinese[pos:pos + rng.randint(4, 9)]
        root = specs[members[0]]
        brand = root.brand
        root.name = holding_name(brand, root.legal_form)
        root.industry, root.tier = "投资控股", "A"
        parents, level = [members[0]], []
        for i, m in enumerate(members[1:]):
            s = specs[m]
            s.brand = brand
            s.name = company_name(s.city, brand, s.industry_word, s.legal_form)
            rels.append({"type": "holding_of", "from": rng.choice(parents), "to": m,
                         "valid_from": _date_between(rng, 2005, 2024)})
            level.append(m)
            if i in (2, 5):  # the next ones hang one level deeper
                parents, level = level, []
    return rels


# ---- bulk rows for the benchmark --------------------------------------------------------------

BULK_TABLES = ("customers", "contact_points", "name_tokens", "customer_roles", "customer_tags")


def match_key(party_type, name):
    """Same as ``customer.queries.duplicates.match_key``."""
    return (names.normalize_company_name(name) if party_type == "company"
            else names.normalize_person_name(name))


def customer_row(s, seq):
    """The ``customers`` row of a spec: every column of ``customer.adapters.models.Customer``."""
    created, owned = s.created_at, s.owner_id is not None
    return {
        "id": s.id, "seq": seq, "number": identifiers.format_customer_number(seq),
        "record": None,  # stored by customer.adapters.records.backfill when the bench needs it
        "party_type": s.party_type, "name": s.name,
        "name_normalized": names.search_normalize(s.name),
        "match_key": match_key(s.party_type, s.name), "status": s.final_status, "tier": s.tier,
        "province": s.province, "city": s.city, "owner_id": s.owner_id,
        "owned_since": created if owned else None, "last_owner_id": None, "released_at": None,
        "last_follow_up_at": created + timedelta(days=3) if owned else None,
        "marketing_consent": s.marketing_consent,
        "marketing_consent_at": created if s.marketing_consent else None,
        "credit_limit": s.credit_limit, "credit_currency": s.credit_currency,
        "credit_policy": s.credit_policy, "preferences": s.preferences,
        "gender": s.gender, "birth_date": s.birth_date, "marital_status": s.marital_status,
        "industry": s.industry, "founded_on": s.founded_on,
        "registered_capital": s.registered_capital,
        "registered_capital_currency": "CNY" if s.party_type == "company" else None,
        "credit_code": s.credit_code, "merged_into_id": None, "merged_at": None,
        "erased_at": None, "erased_by": None, "erase_reason": None,
        "version": 1 if s.final_status == s.status else 2,
        "created_at": created, "created_by": "bench", "updated_at": created,
    }


def bulk_rows(start_seq, count, seed=DEFAULT_SEED, batch_size=10_000):
    """Batches ``{table: [row, ...]}`` (tables ``BULK_TABLES``) for the customers with
    sequence numbers ``start_seq .. start_seq + count - 1``; demo index = seq - 1.
    ``contact_points`` rows leave ``id`` to the database."""
    if start_seq < 1:
        raise ValueError("sequence numbers start at 1")
    end = start_seq + count
    for first in range(start_seq, end, batch_size):
        out = {t: [] for t in BULK_TABLES}
        customers, contacts, tokens = out["customers"], out["contact_points"], out["name_tokens"]
        roles, tags = out["customer_roles"], out["customer_tags"]
        for seq in range(first, min(first + batch_size, end)):
            s = spec(seq - 1, seed)
            customers.append(customer_row(s, seq))
            cid = s.id
            for value, label, primary in s.phones:
                contacts.append({"customer_id": cid, "kind": "phone", "value": value,
                                 "label": label, "is_primary": primary})
            for value, label, primary in s.emails:
                contacts.append({"customer_id": cid, "kind": "email", "value": value,
                                 "label": label, "is_primary": primary})
            for token in names.index_tokens(s.party_type, s.name):
                tokens.append({"token": token, "seq": seq})
            for code in s.roles:
                roles.append({"customer_id": cid, "role_code": code, "seq": seq,
                              "assigned_at": s.created_at})
            for tag in s.tags:
                tags.append({"customer_id": cid, "tag": tag, "seq": seq})
        yield out
