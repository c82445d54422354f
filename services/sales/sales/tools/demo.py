"""Deterministic sales demo data: the plan `make seed` carries out through the sales
application layer (scripts/seed.py), and the product catalogue `make bench` uses.

Pure: nothing here touches a database or a broker, and nothing imports the customer
service. Input: the demo customers as the sales replica knows them
(:class:`CustomerFacts`, made from ``customer_replica`` rows by :func:`facts_from_replica`),
a seed and "now". Output, :func:`generate` -> :class:`SalesPlan`:

* ``products``: the catalogue, :data:`PRODUCTS` as ``ProductCreateSchema`` inputs — 48
  SKUs in CNY with list price and unit cost, VAT 13 % (goods), 9 % (farm produce, books,
  transport, construction) or 6 % (software and services); two of them are legacy SKUs
  created inactive.
* ``steps``: what happened to those customers over the ``years`` (2) before ``now``, as a
  timeline of :class:`Step` sorted by time, none later than ``now``. Each step's ``data``
  is the wire input of the sales RPC of the same name (strings for money, ISO 8601 for
  times) except for the references to objects created by earlier steps, which are plan
  keys in ``refs`` (``{"opportunity": "opp:C00000012:1"}``) that the executor replaces with
  the created object's id (:func:`resolve`).

What the timeline holds, per customer (every customer's story is a function of
``(seed, customer number)`` and the partner/visit choices of the set it is part of):

* opportunities created at a random office-hours moment, moved forward through the
  pipeline (lead -> qualified -> proposal -> negotiation, a few skip "qualified") with
  realistic days per stage, then won, lost with a reason, or left open (recent ones, and
  a few stalled old ones); those that reach "proposal" get a quote (lines from the
  catalogue with a discount), sent a few days later, rejected when the deal is lost and
  accepted (which places the order) when it is won — for customers that can be their own
  ship-to, bill-to and payer; other won deals are followed by a direct order;
* repeat orders by the buyers (orderable customers holding the sold_to role; partner
  functions the buyer lacks are filled by other customers holding them, see
  :class:`PartnerBook`), more for tier A than C; each with its lifecycle: released by a
  credit manager (70 %) or cancelled (30 %) *if* the credit check put it on hold (only
  the execution knows), a few cancelled by the customer, shipped, invoiced with payment
  terms, and paid according to the payer's habit (prompt, late, in instalments, or a
  defaulter who pays part and then nothing) — payments that would fall after ``now`` do
  not happen, so recent and bad invoices stay open and overdue;
* calls, visits, meetings and tasks logged as done (``activity.logged``), plus open ones
  due around today (the reps' today and overdue lists);
* per rep, visit plans on a few past days (visits completed afterwards), today and a
  coming day.

Payments are planned as a share of the invoice (``"0.4"``, or ``"rest"`` for what is
outstanding): the amount is only known once the order is priced; :func:`payment_input`
makes the ``PaymentSchema`` input from it.
"""
import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from guanxi_common.clock import OFFICE_TZ

#: Bump when the output for given inputs changes (cached benchmark databases use it).
GENERATOR_VERSION = 1
DEFAULT_SEED = 20261123
#: Reps who take pool customers' opportunities and activities (the customer demo's reps).
REPS = tuple(f"rep-{i:03d}" for i in range(1, 41))
PARTNER_FUNCTIONS = ("ship_to", "bill_to", "payer")
ORDERABLE = ("prospect", "active")
#: Nothing is planned closer to ``now`` than this (the executor's clock has moved on).
MARGIN = timedelta(minutes=10)
CENT = Decimal("0.01")

# ---- the catalogue ------------------------------------------------------------------------------

# (sku, name, unit, list price, unit cost, tax rate); the tax rates are China's VAT rates:
# 13 % goods, 9 % farm produce / books / transport / construction, 6 % modern services.
_CATALOGUE = (
    ("HW-1001", "商用笔记本电脑 14英寸", "台", "5999.00", "4620.00", "0.13"),
    ("HW-1002", "台式工作站 i7/32G", "台", "8999.00", "6850.00", "0.13"),
    ("HW-1003", "27英寸商用显示器", "台", "1899.00", "1310.00", "0.13"),
    ("HW-1004", "A3 彩色激光打印机", "台", "12800.00", "9400.00", "0.13"),
    ("HW-1005", "机架式服务器 2U", "台", "46800.00", "36500.00", "0.13"),
    ("HW-1006", "千兆交换机 24口", "台", "3280.00", "2150.00", "0.13"),
    ("HW-1007", "企业级无线AP", "台", "899.00", "560.00", "0.13"),
    ("HW-1008", "网络存储 NAS 8盘位", "台", "15600.00", "11900.00", "0.13"),
    ("HW-1009", "UPS 不间断电源 10kVA", "台", "18500.00", "13800.00", "0.13"),
    ("HW-1010", "视频会议一体机", "套", "26800.00", "19200.00", "0.13"),
    ("HW-1011", "LED 商显屏 (平方米)", "平方米", "3600.00", "2480.00", "0.13"),
    ("HW-1012", "工业温湿度传感器", "个", "268.00", "150.00", "0.13"),
    ("HW-1013", "PLC 控制模块", "个", "3450.00", "2390.00", "0.13"),
    ("HW-1014", "伺服电机 1.5kW", "台", "4980.00", "3610.00", "0.13"),
    ("HW-1015", "工业机器人夹具", "套", "15800.00", "10700.00", "0.13"),
    ("HW-1016", "商用空气净化器", "台", "4299.00", "2890.00", "0.13"),
    ("HW-1017", "直饮水设备", "台", "6800.00", "4350.00", "0.13"),
    ("HW-1018", "电动叉车电池组", "组", "23800.00", "18200.00", "0.13"),
    ("HW-1019", "安防摄像头 4K", "个", "799.00", "470.00", "0.13"),
    ("HW-1020", "智能门禁终端", "台", "2380.00", "1540.00", "0.13"),
    ("CN-2001", "A4 复印纸 (箱)", "箱", "138.00", "102.00", "0.13"),
    ("CN-2002", "打印机硒鼓", "个", "459.00", "300.00", "0.13"),
    ("CN-2003", "工业润滑油 18L", "桶", "620.00", "430.00", "0.13"),
    ("CN-2004", "包装纸箱 (百个)", "百个", "380.00", "255.00", "0.13"),
    ("CN-2005", "劳保手套 (箱)", "箱", "240.00", "150.00", "0.13"),
    ("CN-2006", "不锈钢管材 (吨)", "吨", "16800.00", "14300.00", "0.13"),
    ("AG-3001", "东北有机大米 10kg", "袋", "129.00", "82.00", "0.09"),
    ("AG-3002", "西湖龙井礼盒", "盒", "688.00", "390.00", "0.09"),
    ("AG-3003", "新疆红枣 5kg", "箱", "158.00", "96.00", "0.09"),
    ("AG-3004", "食用植物油 5L", "桶", "89.00", "61.00", "0.09"),
    ("BK-3101", "管理类图书套装", "套", "398.00", "240.00", "0.09"),
    ("BK-3102", "技术标准汇编", "册", "260.00", "150.00", "0.09"),
    ("TR-3201", "干线物流运输 (吨)", "吨", "420.00", "330.00", "0.09"),
    ("TR-3202", "同城配送服务 (次)", "次", "180.00", "120.00", "0.09"),
    ("CS-3301", "设备安装工程", "项", "8800.00", "6100.00", "0.09"),
    ("CS-3302", "机房改造工程", "项", "68000.00", "51000.00", "0.09"),
    ("SW-4001", "CRM 软件年度订阅 (用户)", "用户·年", "1680.00", "420.00", "0.06"),
    ("SW-4002", "ERP 财务模块授权", "套", "38000.00", "12000.00", "0.06"),
    ("SW-4003", "云存储服务 (TB·月)", "TB·月", "260.00", "140.00", "0.06"),
    ("SW-4004", "网络安全防护订阅", "年", "24000.00", "9800.00", "0.06"),
    ("SV-4101", "技术咨询 (人天)", "人天", "2800.00", "1500.00", "0.06"),
    ("SV-4102", "实施服务 (人天)", "人天", "2200.00", "1250.00", "0.06"),
    ("SV-4103", "培训服务 (人天)", "人天", "3500.00", "1600.00", "0.06"),
    ("SV-4104", "年度运维服务包", "年", "36000.00", "21000.00", "0.06"),
    ("SV-4105", "设备延保服务 (年)", "年", "1200.00", "380.00", "0.06"),
    ("SV-4106", "数据迁移服务", "项", "15000.00", "7800.00", "0.06"),
)
_LEGACY = (
    ("HW-0901", "旧款笔记本电脑 (停售)", "台", "4999.00", "4100.00", "0.13"),
    ("SW-0902", "旧版 CRM 单机授权 (停售)", "套", "9800.00", "2500.00", "0.06"),
)
PRODUCTS = tuple({"sku": sku, "name": name, "unit": unit, "currency": "CNY", "list_price": price,
                  "unit_cost": cost, "tax_rate": rate, "active": True}
                 for sku, name, unit, price, cost, rate in _CATALOGUE) + tuple(
    {"sku": sku, "name": name, "unit": unit, "currency": "CNY", "list_price": price,
     "unit_cost": cost, "tax_rate": rate, "active": False}
    for sku, name, unit, price, cost, rate in _LEGACY)
SELLABLE = tuple(p for p in PRODUCTS if p["active"])
_PRICE = {p["sku"]: Decimal(p["list_price"]) for p in PRODUCTS}
# What a customer buys together: hardware shops, consumables, food gifts, software+services.
_BASKETS = (
    ("HW-1001", "HW-1002", "HW-1003", "HW-1004", "HW-1006", "HW-1007", "HW-1019", "HW-1020",
     "SV-4105", "CN-2002"),
    ("HW-1005", "HW-1008", "HW-1009", "HW-1006", "CS-3302", "SV-4104", "SV-4101", "SW-4004"),
    ("HW-1012", "HW-1013", "HW-1014", "HW-1015", "HW-1018", "CN-2003", "CN-2005", "CN-2006",
     "CS-3301", "TR-3201"),
    ("CN-2001", "CN-2002", "CN-2004", "CN-2005", "TR-3202", "HW-1016", "HW-1017"),
    ("AG-3001", "AG-3002", "AG-3003", "AG-3004", "BK-3101", "TR-3202"),
    ("SW-4001", "SW-4002", "SW-4003", "SW-4004", "SV-4101", "SV-4102", "SV-4103", "SV-4106"),
    ("HW-1010", "HW-1011", "HW-1003", "SV-4102", "CS-3301", "BK-3102"),
)

# ---- words ----------------------------------------------------------------------------------------

OPPORTUNITY_TITLES = ("办公设备采购", "年度软件订阅", "生产线自动化升级", "机房建设", "员工福利采购",
                      "安防系统改造", "年度运维外包", "数字化转型咨询", "仓储物流合作", "会议室改造",
                      "耗材年度框架协议", "培训项目")
SOURCES = ("展会", "官网咨询", "老客户转介绍", "电话营销", "微信公众号", "渠道伙伴", "招投标公告")
CAMPAIGNS = ("cmp-canton-fair-spring", "cmp-canton-fair-autumn", "cmp-wechat-q2", "cmp-webinar-erp",
             "cmp-dealer-summit", "cmp-new-year-gift")
LOST_REASONS = ("价格高于竞争对手", "客户选择了竞争对手", "预算取消", "需求变更，项目暂停",
                "联系不到决策人", "交期无法满足", "付款条件谈不拢")
RELEASE_REASONS = ("客户已预付30%货款，临时放行", "销售总监担保，历史回款良好", "客户提供银行承兑汇票担保",
                   "大客户年度框架协议内订单，准予放行")
HOLD_CANCEL_REASON = "信用额度不足，客户未能提供担保，订单取消"
CUSTOMER_CANCEL_REASONS = ("客户需求变更，取消订单", "客户重复下单", "交期不满足，客户取消")
ACTIVITY_SUBJECTS = {
    "call": ("电话回访", "确认需求", "跟进报价反馈", "催收回款", "约见面时间", "售后满意度回访"),
    "visit": ("上门拜访", "现场勘查", "送样品", "节日拜访", "拜访采购部"),
    "meeting": ("产品演示会", "商务洽谈", "方案评审会", "年度合作总结会"),
    "task": ("准备报价单", "发送合同草稿", "整理客户资料", "安排技术交流", "寄送发票"),
}
PAYMENT_METHODS = (("bank_transfer", 60), ("acceptance_bill", 15), ("alipay", 8), ("wechat_pay", 7),
                   ("cheque", 5), ("cash", 5))
VISIT_SLOTS = ((9, 30), (11, 0), (14, 30), (16, 30))

_STAGES = ("lead", "qualified", "proposal", "negotiation")
_STAGE_DAYS = {"lead": (2, 15), "qualified": (4, 20), "proposal": (5, 25), "negotiation": (3, 18)}


# ---- input and output -----------------------------------------------------------------------------

@dataclass(frozen=True)
class CustomerFacts:
    """What sales knows of a customer (a ``customer_replica`` row)."""

    id: str
    number: str
    name: str = ""
    party_type: str = "company"
    status: str = "active"
    roles: tuple = ()
    owner_id: str | None = None
    province: str | None = None
    tier: str | None = None
    credit_policy: str = "none"
    credit_currency: str = "CNY"
    credit_limit: Decimal | None = None
    merged: bool = False
    erased: bool = False

    @property
    def usable(self):
        """Can get new opportunities, quotes and activities."""
        return not (self.merged or self.erased or self.status in ("merged", "erased"))

    @property
    def orderable(self):
        return self.usable and self.status in ORDERABLE

    @property
    def credit_in_cny(self):
        """Orders are in CNY; a warn/block payer with credit in another currency refuses them."""
        return self.credit_policy == "none" or (self.credit_currency or "CNY") == "CNY"

    @property
    def self_sufficient(self):
        """Holds every partner role, so a quote's order needs no one else."""
        return {"sold_to", *PARTNER_FUNCTIONS} <= set(self.roles)


def facts_from_replica(row):
    """CustomerFacts of a ``sales.models.CustomerReplica`` row (or anything alike)."""
    return CustomerFacts(
        id=row.id, number=row.number, name=row.name, party_type=row.party_type, status=row.status,
        roles=tuple(sorted(row.roles or ())), owner_id=row.owner_id, province=row.province,
        tier=row.tier, credit_policy=row.credit_policy or "none",
        credit_currency=row.credit_currency or "CNY",
        credit_limit=None if row.credit_limit is None else Decimal(row.credit_limit),
        merged=bool(row.merged_into_id) or row.status == "merged", erased=bool(row.erased))


@dataclass(frozen=True)
class Step:
    """One thing that happened: ``kind`` is the sales RPC it is the input of."""

    at: datetime                 # UTC; the seed backdates what the call stamps "now" to it
    seq: int                     # generation order: breaks ties, keeps causes first
    kind: str
    key: str                     # the plan object created or acted on
    data: dict                   # the wire input (plan references in ``refs``)
    refs: dict = field(default_factory=dict)   # {input field: plan key}
    creates: tuple = ()          # further plan keys it creates (the order of an accepted quote,
    #                              the visits of a plan, in input order)
    actor: str = "admin"         # "admin" or "credit_manager"


@dataclass
class SalesPlan:
    products: tuple
    steps: list
    start: datetime
    now: datetime

    def count(self, kind):
        return sum(1 for s in self.steps if s.kind == kind)


#: The kinds of step, in the order of a deal's life.
KINDS = ("opportunity.create", "opportunity.move", "opportunity.win", "opportunity.lose",
         "quote.create", "quote.send", "quote.accept", "quote.reject", "order.place",
         "order.release_if_held", "order.cancel_if_held", "order.cancel", "order.ship",
         "invoice.issue", "payment.record", "activity.log", "visits.plan", "activity.complete")


def resolve(step, ids):
    """The step's input with its references replaced by ``ids[plan key]`` (None when the
    referenced object was not created — the step is then skipped by the executor)."""
    data = dict(step.data)
    for name, key in step.refs.items():
        if key not in ids:
            return None
        data[name] = ids[key]
    return data


def payment_input(step, invoice_ref, invoice_amount, outstanding):
    """The ``PaymentSchema`` input of a ``payment.record`` step, or None when nothing is
    left to pay. The amount is the step's share of the invoice (or the rest), to the cent,
    never more than what is outstanding."""
    outstanding = Decimal(outstanding)
    if outstanding <= 0:
        return None
    share = step.data["share"]
    amount = outstanding if share == "rest" else min(
        (Decimal(invoice_amount) * Decimal(share)).quantize(CENT, ROUND_HALF_UP), outstanding)
    if amount <= 0:
        return None
    return {"invoice": invoice_ref, "amount": f"{amount:.2f}", "received_at": step.data["received_at"],
            "method": step.data["method"], "reference": step.data["reference"],
            "idempotency_key": step.data["idempotency_key"]}


# ---- helpers --------------------------------------------------------------------------------------

def _money(value):
    return f"{Decimal(value).quantize(CENT, ROUND_HALF_UP):.2f}"


def _iso(moment):
    return moment.astimezone(timezone.utc).isoformat()


def office_day(moment):
    return moment.astimezone(OFFICE_TZ).date()


def office_moment(day, hour, minute=0):
    """``day`` at ``hour:minute`` in the office (Asia/Shanghai), as UTC."""
    return datetime.combine(day, time(hour, minute), OFFICE_TZ).astimezone(timezone.utc)


def _weekday(day):
    """Saturday and Sunday move to Monday."""
    return day + timedelta(days=(7 - day.weekday()) % 7) if day.weekday() >= 5 else day


def _working_moment(rng, first, last):
    """A random office-hours moment on a working day between two moments."""
    span = max((last - first).total_seconds(), 0)
    moment = first + timedelta(seconds=rng.uniform(0, span))
    day = _weekday(office_day(moment))
    return office_moment(day, rng.randint(9, 17), rng.choice((0, 10, 20, 30, 40, 50)))


def _later(rng, moment, low_days, high_days):
    """An office-hours moment ``low_days``..``high_days`` after ``moment`` (never before it)."""
    day = _weekday(office_day(moment) + timedelta(days=rng.randint(low_days, high_days)))
    result = office_moment(day, rng.randint(9, 17), rng.choice((0, 15, 30, 45)))
    return result if result > moment else moment + timedelta(minutes=rng.randint(20, 180))


def _weighted(rng, pairs):
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


class PartnerBook:
    """Who fills a partner function a buyer does not hold itself: orderable customers with
    the role (payers also with credit in CNY), chosen per buyer so that the load spreads."""

    def __init__(self, customers):
        self.by_function = {
            function: [c for c in customers
                       if c.orderable and function in c.roles and (function != "payer" or c.credit_in_cny)]
            for function in PARTNER_FUNCTIONS}

    def partners(self, customer, rng):
        """``{function: number or None}`` for an order of ``customer`` (None: itself), or
        None when some function cannot be filled."""
        chosen = {}
        for function in PARTNER_FUNCTIONS:
            if function in customer.roles and (function != "payer" or customer.credit_in_cny):
                chosen[function] = None
                continue
            candidates = [c for c in self.by_function[function] if c.id != customer.id]
            if not candidates:
                return None
            chosen[function] = rng.choice(candidates).number
        return chosen


def is_buyer(customer):
    return customer.orderable and "sold_to" in customer.roles


# ---- the generator --------------------------------------------------------------------------------

def generate(customers, seed=DEFAULT_SEED, now=None, years=2):
    """The plan for ``customers`` (CustomerFacts or dicts of its fields); see the module doc."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    facts = [c if isinstance(c, CustomerFacts) else CustomerFacts(**c) for c in customers]
    start = now - timedelta(days=365 * years)
    gen = _Generator(seed, start, now, PartnerBook(facts))
    for customer in facts:
        gen.customer(customer)
    gen.visit_plans(facts)
    steps = sorted(gen.steps, key=lambda s: (s.at, s.seq))
    return SalesPlan(products=PRODUCTS, steps=steps, start=start, now=now)


class _Generator:
    def __init__(self, seed, start, now, partners):
        self.seed, self.start, self.now, self.book = seed, start, now, partners
        self.limit = now - MARGIN
        self.steps = []
        self._seq = 0

    def add(self, at, kind, key, data, refs=None, creates=(), actor="admin"):
        """Plan a step; one later than the limit did not happen (False)."""
        if at > self.limit or at < self.start:
            return False
        self._seq += 1
        self.steps.append(Step(at=at, seq=self._seq, kind=kind, key=key, data=data,
                               refs=dict(refs or {}), creates=tuple(creates), actor=actor))
        return True

    # ---- one customer ----------------------------------------------------------------
    def customer(self, c):
        if not c.usable:
            return
        rng = random.Random(f"{self.seed}:{c.number}")
        owner = c.owner_id or (rng.choice(REPS) if rng.random() < 0.5 else None)
        basket = _BASKETS[rng.randrange(len(_BASKETS))]
        partners = self.book.partners(c, rng) if is_buyer(c) else None
        habit = _weighted(rng, (("prompt", 55), ("late", 25), ("instalments", 12), ("defaulter", 8)))
        terms = rng.choice((30, 30, 45, 60, 90)) if c.party_type == "company" else rng.choice((0, 15, 30))
        ctx = _Context(c, rng, owner, basket, partners, habit, terms)
        opportunities = self.opportunities(ctx) if owner else []
        if partners is not None:
            self.repeat_orders(ctx)
        if owner:
            self.activities(ctx, opportunities)

    def opportunities(self, ctx):
        c, rng = ctx.customer, ctx.rng
        if c.status == "blocked":
            return []
        count = {"A": (1, 4), "B": (0, 3), "C": (0, 2)}.get(c.tier, (0, 2))
        if c.status == "lost":
            count = (0, 1)
        made = []
        for n in range(1, rng.randint(*count) + 1):
            made.append(self.opportunity(ctx, n))
        return made

    def opportunity(self, ctx, n):
        c, rng = ctx.customer, ctx.rng
        key = f"opp:{c.number}:{n}"
        created = _working_moment(rng, self.start + timedelta(days=1), self.now - timedelta(days=1))
        weights = ((("won", 40), ("lost", 52), ("open", 8)) if self.now - created > timedelta(days=120)
                   else (("won", 30), ("lost", 25), ("open", 45)))   # old deals are mostly decided
        fate = "lost" if c.status == "lost" else _weighted(rng, weights)
        path = list(_STAGES)
        if fate == "won" and rng.random() < 0.15:
            path.remove("qualified")
        if fate == "lost":
            path = path[:_weighted(rng, ((1, 25), (2, 30), (3, 30), (4, 15)))]
        elif fate == "open":
            path = path[:rng.randint(1, 4)]
        low, high = {"A": (100, 1500), "B": (30, 400), "C": (5, 120)}.get(c.tier, (5, 120))
        amount = Decimal(rng.randint(low, high) * 1000)
        durations = [rng.randint(*_STAGE_DAYS[s]) for s in path]
        expected = office_day(created) + timedelta(days=sum(durations) + rng.randint(0, 20))
        source = rng.random()
        data = {"customer": c.number,
                "title": f"{rng.choice(OPPORTUNITY_TITLES)} {office_day(created).year}",
                "amount": _money(amount), "currency": "CNY", "expected_close": expected.isoformat(),
                "owner_id": ctx.owner,
                "source_campaign_id": rng.choice(CAMPAIGNS) if source < 0.3 else None,
                "source_text": rng.choice(SOURCES) if source >= 0.15 else None}
        if not self.add(created, "opportunity.create", key, data):
            return None
        t, quote = created, None
        for stage, days in zip(path[1:], durations):
            t = _later(rng, t, max(days - 2, 1), days + 2)
            if not self.add(t, "opportunity.move", key, {"stage": stage}):
                return (key, created, None)
            if stage == "proposal" and rng.random() < 0.85:
                quote = self.quote(ctx, key, n, t, amount)
        if fate == "open":
            return (key, created, None)
        t = _later(rng, t, max(durations[-1] - 2, 1), durations[-1] + 3)
        sent = quote is not None and quote[1] is not None
        if sent:
            t = max(t, quote[1] + timedelta(hours=2))   # decided after the customer had it
        if fate == "won":
            accepted = False
            if sent and c.orderable and c.credit_in_cny and (c.self_sufficient
                                                             or ctx.partners is not None):
                # accepting names the other parties where the buyer needs them
                order_key = f"order:{c.number}:q{n}"
                partners = {} if c.self_sufficient else dict(ctx.partners)
                accepted = self.add(t, "quote.accept", quote[0], {"partners": partners},
                                    creates=(order_key,))
                if accepted:
                    self.order_lifecycle(ctx, order_key, t)
            closed = self.add(t + timedelta(minutes=10), "opportunity.win", key, {})
            if closed and not accepted and ctx.partners is not None:
                # won without a sent quote: the order is placed at list prices
                self.place_order(ctx, f"order:{c.number}:w{n}", _later(rng, t, 1, 6), amount)
        else:
            if sent:
                self.add(t, "quote.reject", quote[0], {})
            closed = self.add(t + timedelta(minutes=10), "opportunity.lose", key,
                              {"reason": rng.choice(LOST_REASONS)})
        return (key, created, t if closed else None)

    def quote(self, ctx, opportunity_key, n, at, amount):
        """(quote key, when it was sent or None, lines) of a quote made when the deal
        reached "proposal"."""
        rng = ctx.rng
        key = f"quote:{ctx.customer.number}:{n}"
        at = at + timedelta(hours=rng.randint(2, 30))
        lines = self.lines(ctx, amount, discount=True)
        if not self.add(at, "quote.create", key, {"customer": ctx.customer.number, "currency": "CNY",
                                                  "valid_until": None, "lines": lines},
                        refs={"opportunity": opportunity_key}):
            return None
        sent_at = _later(rng, at, 1, 3)
        if not (rng.random() < 0.9 and self.add(sent_at, "quote.send", key, {})):
            sent_at = None
        return (key, sent_at, lines)

    def lines(self, ctx, amount, discount=False):
        """1-4 catalogue lines worth about ``amount`` (quantities at most 3 decimals)."""
        rng = ctx.rng
        skus = rng.sample(ctx.basket, min(len(ctx.basket), rng.randint(1, 4)))
        share = Decimal(amount) / len(skus)
        lines = []
        for sku in skus:
            price = _PRICE[sku]
            quantity = max(1, int(share / price))
            line = {"product": sku, "quantity": str(quantity)}
            if sku.startswith(("CN-2006", "TR-")) and rng.random() < 0.5:
                line["quantity"] = f"{quantity + rng.randint(1, 999) / 1000:.3f}"
            if discount:
                line["discount"] = rng.choice(("0", "0", "0.05", "0.08", "0.1", "0.12", "0.15"))
            lines.append(line)
        return lines

    def repeat_orders(self, ctx):
        c, rng = ctx.customer, ctx.rng
        if c.status == "prospect":
            count = rng.choice((0, 0, 0, 1, 1, 2))
        else:
            count = rng.randint(*{"A": (6, 14), "B": (3, 8)}.get(c.tier, (1, 4)))
        low, high = {"A": (20, 300), "B": (5, 80)}.get(c.tier, (1, 30))
        if c.credit_policy != "none" and c.credit_limit:
            # customers on credit buy in proportion to their limit, and now and then beyond it
            low = max(1, int(c.credit_limit * Decimal("0.0001")))
            high = max(2, int(c.credit_limit * Decimal("0.0009")))
        for n in range(1, count + 1):
            placed = _working_moment(rng, self.start + timedelta(days=2), self.now - timedelta(hours=2))
            self.place_order(ctx, f"order:{c.number}:{n}", placed,
                             Decimal(rng.randint(low, high) * 1000))

    def place_order(self, ctx, key, at, amount):
        """An order of about ``amount`` at list prices."""
        c = ctx.customer
        data = {"sold_to": c.number, **ctx.partners, "currency": "CNY",
                "lines": self.lines(ctx, amount), "quote_id": None,
                "idempotency_key": f"demo-{self.seed}-{key}"}
        if self.add(at, "order.place", key, data):
            self.order_lifecycle(ctx, key, at)

    def order_lifecycle(self, ctx, key, placed):
        """What follows an order: hold decision, cancellation, shipping, invoice, payments."""
        rng = ctx.rng
        t = _later(rng, placed, 0, 3)
        if self.now - placed < timedelta(days=45) and rng.random() < 0.6:
            pass   # if it went on credit hold, it still waits for the credit manager
        elif rng.random() < 0.7:
            self.add(t, "order.release_if_held", key, {"reason": rng.choice(RELEASE_REASONS)},
                     actor="credit_manager")
        else:
            self.add(t, "order.cancel_if_held", key, {"reason": HOLD_CANCEL_REASON})
        if rng.random() < 0.03:
            self.add(_later(rng, t, 0, 2), "order.cancel", key, {"reason": rng.choice(CUSTOMER_CANCEL_REASONS)})
            return
        shipped = _later(rng, t, 1, 8)
        if not self.add(shipped, "order.ship", key, {}):
            return
        invoiced = _later(rng, shipped, 0, 4)
        issue = office_day(invoiced)
        invoice_key = "inv:" + key.split(":", 1)[1]
        if not self.add(invoiced, "invoice.issue", invoice_key,
                        {"terms_days": ctx.terms, "issue_date": issue.isoformat()}, refs={"order": key}):
            return
        due = office_moment(issue + timedelta(days=ctx.terms), 12)
        for n, (at, share) in enumerate(self.payment_schedule(ctx, invoiced, due), start=1):
            method = _weighted(rng, PAYMENT_METHODS)
            data = {"share": share, "received_at": _iso(at), "method": method,
                    "reference": f"{method[:4].upper()}-{office_day(at):%Y%m%d}-{rng.randint(10000, 99999)}",
                    "idempotency_key": f"demo-{self.seed}-{invoice_key}-{n}"}
            if not self.add(at, "payment.record", invoice_key, data):
                break

    def payment_schedule(self, ctx, invoiced, due):
        rng, habit = ctx.rng, ctx.habit
        if habit == "prompt":
            return [(_later(rng, invoiced, 3, max(3, (due - invoiced).days + 3)), "rest")]
        if habit == "late":
            return [(_later(rng, due, 10, 80), "rest")]
        if habit == "instalments":
            first = _later(rng, invoiced, 10, 30)
            second = _later(rng, first, 20, 40)
            return [(first, rng.choice(("0.3", "0.4", "0.5"))), (second, "0.3"),
                    (_later(rng, second, 20, 50), "rest")]
        if rng.random() < 0.5:   # a defaulter pays part, then nothing
            return [(_later(rng, due, 5, 40), rng.choice(("0.2", "0.3", "0.4")))]
        return []

    def activities(self, ctx, opportunities):
        c, rng = ctx.customer, ctx.rng
        count = {"A": (4, 10), "B": (2, 6)}.get(c.tier, (1, 4))
        if c.status in ("prospect", "lost"):
            count = (1, 3)
        elif c.status == "blocked":
            count = (0, 2)
        deals = [o for o in opportunities if o]
        for n in range(1, rng.randint(*count) + 1):
            kind = _weighted(rng, (("call", 50), ("visit", 20), ("meeting", 15), ("task", 15)))
            done = _working_moment(rng, self.start + timedelta(days=1), self.now - timedelta(hours=1))
            outcome = ("not_interested" if c.status == "lost" and rng.random() < 0.6 else
                       _weighted(rng, (("completed", 55), ("follow_up", 20), ("no_answer", 12),
                                       ("rescheduled", 8), ("cancelled", 5))))
            data = {"kind": kind, "customer": c.number, "subject": rng.choice(ACTIVITY_SUBJECTS[kind]),
                    "owner_id": ctx.owner, "due_at": None, "done_at": _iso(done), "outcome": outcome,
                    "notes": "客户反馈积极，下周再联系" if outcome == "follow_up" else None}
            refs = {}
            alive = [key for key, opened, closed in deals if opened < done and (closed is None or done < closed)]
            if alive and rng.random() < 0.5:
                refs["opportunity"] = rng.choice(alive)
            self.add(done, "activity.log", f"act:{c.number}:{n}", data, refs=refs)
        if c.status in ORDERABLE and rng.random() < 0.25:   # open work due around today
            today = office_day(self.now)
            due_day = _weekday(today + timedelta(days=rng.randint(-6, 8)))
            due = office_moment(due_day, rng.randint(9, 17), rng.choice((0, 30)))
            kind = rng.choice(("call", "task", "meeting"))
            created = min(due, self.now) - timedelta(days=rng.randint(2, 10))
            self.add(created, "activity.log", f"act:{c.number}:open",
                     {"kind": kind, "customer": c.number, "subject": rng.choice(ACTIVITY_SUBJECTS[kind]),
                      "owner_id": ctx.owner, "due_at": _iso(due), "done_at": None, "outcome": None,
                      "notes": None})

    # ---- visit plans per rep -------------------------------------------------------
    def visit_plans(self, customers):
        by_rep = {}
        for c in customers:
            if c.owner_id and c.usable and c.status != "blocked":
                by_rep.setdefault(c.owner_id, []).append(c)
        today = office_day(self.now)
        for rep in sorted(by_rep):
            mine = by_rep[rep]
            if len(mine) < 2:
                continue
            rng = random.Random(f"{self.seed}:{rep}:visits")
            past = sorted({_weekday(today - timedelta(days=rng.randint(3, 40))) for _ in range(3)})
            days = [d for d in past if d < today] + [today, _weekday(today + timedelta(days=rng.randint(1, 4)))]
            for day in dict.fromkeys(days):
                self.visit_day(rng, rep, day, mine, today)

    def visit_day(self, rng, rep, day, mine, today):
        chosen = rng.sample(mine, min(len(mine), rng.randint(2, 4)))
        slots = sorted(rng.sample(VISIT_SLOTS, len(chosen)))
        visits, keys = [], []
        for i, (c, (hour, minute)) in enumerate(zip(chosen, slots)):
            visits.append({"customer": c.number, "subject": f"拜访 {c.name}"[:200] if c.name else None,
                           "due_at": _iso(office_moment(day, hour, minute)), "notes": None})
            keys.append(f"visit:{rep}:{day.isoformat()}:{i}")
        planned = (office_moment(day - timedelta(days=1), 18) if day <= today   # the evening before
                   else self.now - timedelta(hours=rng.randint(1, 6)))
        if not self.add(planned, "visits.plan", f"plan:{rep}:{day.isoformat()}",
                        {"date": day.isoformat(), "owner_id": rep, "notes": None, "visits": visits},
                        creates=keys):
            return
        for key, visit in zip(keys, visits):
            due = datetime.fromisoformat(visit["due_at"])
            done = due + timedelta(minutes=rng.randint(30, 90))
            if day == today and rng.random() < 0.3:
                continue   # still on today's list
            outcome = _weighted(rng, (("completed", 60), ("follow_up", 25), ("rescheduled", 8),
                                      ("no_answer", 7)))
            self.add(done, "activity.complete", key,
                     {"outcome": outcome, "done_at": _iso(done), "notes": None})


@dataclass
class _Context:
    customer: CustomerFacts
    rng: random.Random
    owner: str | None
    basket: tuple
    partners: dict | None
    habit: str
    terms: int


def bench_customers(customers, count):
    """Up to ``count`` buyers with their partners for the order benchmark:
    ``[(sold_to number, {function: number or None})]``, the same for the same input."""
    book = PartnerBook(customers)
    rng = random.Random(f"{DEFAULT_SEED}:bench")
    chosen = []
    for c in customers:
        if is_buyer(c):
            partners = book.partners(c, rng)
            if partners is not None:
                chosen.append((c.number, partners))
        if len(chosen) >= count:
            break
    return chosen


def bench_lines(index):
    """Order lines for the benchmark's ``index``-th order: two or three catalogue products."""
    rng = random.Random(index)
    return [{"product": p["sku"], "quantity": str(rng.randint(1, 5))}
            for p in rng.sample(SELLABLE, rng.randint(2, 3))]
