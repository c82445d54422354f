"""Customer search: one search box or criteria, index-driven so that a page costs the
same at 10k and at 1M customers."""
from sqlalchemy import exists, func, or_, select, union
from sqlalchemy.orm import aliased

from customer import access
from customer.adapters.models import ContactPoint, Customer, CustomerRole, CustomerTag, NameToken
from customer.domain import names
from guanxi_common import contact, identifiers
from guanxi_common.contracts.customer import SEARCH_COUNT_CAP, CustomerSummarySchema

#: Totals are counted exactly up to this many hits; beyond it the answer says "more than".
COUNT_CAP = SEARCH_COUNT_CAP
#: Name postings are counted up to this many entries to pick the rarest as the driver.
SELECTIVITY_PROBE = 1_000
SUMMARIES = CustomerSummarySchema(many=True)


def _like_escape(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def interpret_q(q):
    """A single search box: a number, email, credit code or phone by shape, else a name."""
    q = q.strip()
    seq = identifiers.parse_customer_number(q)
    if seq is not None:
        return {"number": identifiers.format_customer_number(seq)}
    if "@" in q or "＠" in q:
        return {"email": q}
    code = identifiers.normalize_credit_code(q)
    if len(code) == 18 and identifiers.is_valid_credit_code(code):
        return {"credit_code": code}
    digits = sum(ch.isdigit() for ch in q)
    if digits >= 5 and digits >= len(q.replace(" ", "")) * 0.7 and contact.phone_search_key(q):
        return {"phone": q}
    return {"name": q}


def search(session, actor, criteria):
    """Customers matching every criterion, newest first, with a total capped at COUNT_CAP.

    The query is driven by the most selective posting list available — name n-grams, a
    role, a tag, a contact point — whose rows are keyed by the customer's seq, so a page
    is the first hits of an index walk and a count stops at the cap: the cost follows the
    page size and the cap, not the number of customers.  A name typed in pinyin ("zhang
    wei", "zw") also finds the names that read so: a second plan driven by the pinyin key,
    whose first hits are merged with the first.
    """
    criteria = dict(criteria)
    page, size = criteria.pop("page", 1), criteria.pop("page_size", 20)
    if criteria.get("q"):
        criteria.update(interpret_q(criteria.pop("q")))
    plans = [_plan(session, actor, criteria)]
    reading_key = names.reading_query_key(criteria.get("name"))
    if reading_key:
        plans.append(_plan(session, actor, criteria, reading_key))
    plans = [plan for plan in plans if not plan.empty]
    if not plans:
        return {"items": [], "total": 0, "total_exact": True, "page": page, "page_size": size}
    seqs, capped = _page_and_count(session, plans, page, size)
    rows = {c.seq: c for c in session.scalars(select(Customer).where(Customer.seq.in_(seqs)))} if seqs else {}
    return {"items": SUMMARIES.dump([rows[s] for s in seqs]),
            "total": min(capped, COUNT_CAP), "total_exact": capped <= COUNT_CAP,
            "page": page, "page_size": size}


def _page_and_count(session, plans, page, size):
    """The seqs of one page, newest first, and the count of hits up to COUNT_CAP + 1."""
    if len(plans) == 1:
        (plan,) = plans
        stmt = plan.statement()
        capped = session.scalar(select(func.count()).select_from(stmt.limit(COUNT_CAP + 1).subquery()))
        seqs = session.scalars(stmt.order_by(plan.order_column.desc()).limit(size)
                               .offset((page - 1) * size)).all()
        return seqs, capped

    def first_hits(count):  # each plan's newest hits (an index walk), merged
        return union(*(select(p.statement().order_by(p.order_column.desc()).limit(count).subquery().c.seq)
                       for p in plans)).subquery()

    capped = session.scalar(select(func.count()).select_from(first_hits(COUNT_CAP + 1)))
    merged = first_hits(page * size)
    seqs = session.scalars(select(merged.c.seq).order_by(merged.c.seq.desc()).limit(size)
                           .offset((page - 1) * size)).all()
    return seqs, capped


def _plan(session, actor, criteria, reading_key=None):
    """The plan of a search; with ``reading_key`` the name is matched by its pinyin."""
    plan = _SearchPlan(actor)
    if reading_key:
        plan.reading(reading_key)
    elif criteria.get("name"):
        plan.name(criteria["name"], lambda tokens: _posting_sizes(session, tokens))
    if criteria.get("role"):
        plan.posting(CustomerRole, lambda t: t.role_code == criteria["role"])
    if criteria.get("tag"):
        plan.posting(CustomerTag, lambda t: t.tag == criteria["tag"])
    if criteria.get("phone"):
        plan.contact("phone", contact.phone_search_key(criteria["phone"]))
    if criteria.get("email"):
        try:
            plan.contact("email", contact.normalize_email(criteria["email"]))
        except contact.InvalidContact:
            plan.contact("email", None)
    if criteria.get("number"):
        seq = identifiers.parse_customer_number(criteria["number"])
        plan.where(Customer.number == (identifiers.format_customer_number(seq) if seq else None))
    if criteria.get("credit_code"):
        plan.where(Customer.credit_code == identifiers.normalize_credit_code(criteria["credit_code"]))
    for field in ("status", "party_type", "province", "city", "tier", "owner_id"):
        if criteria.get(field):
            plan.where(getattr(Customer, field) == criteria[field])
    if "in_pool" in criteria:
        plan.where(Customer.owner_id.is_(None) if criteria["in_pool"] else Customer.owner_id.isnot(None))
    if not criteria.get("include_merged") and not criteria.get("status"):
        plan.live_only()
    plan.scope(access.search_scope(actor))
    return plan


def _posting_sizes(session, tokens):
    """{token: entries in its posting list, counted up to SELECTIVITY_PROBE}, in one query."""
    counts = [select(func.count()).select_from(select(NameToken.seq).where(NameToken.token == token)
                                               .limit(SELECTIVITY_PROBE).subquery()).scalar_subquery()
              for token in tokens]
    return dict(zip(tokens, session.execute(select(*counts)).one()))


class _SearchPlan:
    """Collects the criteria of one search and builds its statement over customer seqs."""

    def __init__(self, actor):
        self.actor = actor
        self.driver = None          # (seq column, condition) of the driving posting list
        self.postings = []          # further posting lists: seq IN (...)
        self.conditions = []        # conditions on the customers table
        self.name_only_live = False  # name tokens exist for live customers only
        self.empty = False

    def name(self, text, posting_sizes=None):
        normalized = names.search_normalize(text)
        tokens = sorted(names.query_tokens(text), key=len, reverse=True)
        if len(tokens) > 1 and posting_sizes:
            # the rarest list drives the walk; a fragment no name holds ("zhangwei" among
            # Latin names) ends here instead of walking the longest list to no hit
            sizes = posting_sizes(tokens)
            tokens.sort(key=sizes.get)
            if sizes[tokens[0]] == 0:
                self.empty = True
                return
        if not normalized:
            self.empty = True
        elif not tokens:  # one character, e.g. a surname: a prefix range on the index
            self.where(Customer.name_normalized >= normalized,
                       Customer.name_normalized < normalized + "\U0010ffff")
        else:
            for token in tokens:
                self.posting(NameToken, lambda t, token=token: t.token == token)
            self.name_only_live = True
            if tokens != [normalized]:  # the tokens prefilter; the substring decides
                self.where(Customer.name_normalized.like(f"%{_like_escape(normalized)}%",
                                                         escape="\\"))

    def reading(self, key):
        """Names that read as the pinyin ``key``: one posting list of the name index."""
        self.posting(NameToken, lambda t: t.token == key)
        self.name_only_live = True

    def posting(self, table, condition_for):
        """A table of (key, seq) rows; the first one drives, the others are probed."""
        if self.driver is None:
            self.driver = (table.seq, condition_for(table))
        else:
            inner = aliased(table)
            self.postings.append((inner.seq, condition_for(inner)))

    def contact(self, kind, value):
        if value is None:
            self.empty = True
            return
        self.conditions.append(Customer.id.in_(select(ContactPoint.customer_id).where(
            ContactPoint.kind == kind, ContactPoint.value == value)))

    def where(self, *conditions):
        self.conditions.extend(conditions)

    def live_only(self):
        if not self.name_only_live:  # the name index already leaves merged/erased out
            self.conditions.append(Customer.status.notin_(("merged", "erased")))

    def scope(self, scope):
        if not scope:
            return
        if scope.get("nothing"):
            self.empty = True
        if scope.get("province"):
            self.conditions.append(Customer.province == scope["province"])
        if scope.get("owner_or_pool"):
            self.conditions.append(or_(Customer.owner_id.is_(None),
                                       Customer.owner_id == scope["owner_or_pool"]))

    @property
    def order_column(self):
        return self.driver[0] if self.driver else Customer.seq

    def statement(self):
        if self.driver is None:
            return select(Customer.seq).where(*self.conditions)
        seq_column, condition = self.driver
        stmt = select(seq_column).where(condition)
        for inner_seq, inner_condition in self.postings:  # a key lookup per candidate
            stmt = stmt.where(exists().where(inner_condition, inner_seq == seq_column))
        if self.conditions:
            stmt = stmt.join(Customer, Customer.seq == seq_column).where(*self.conditions)
        return stmt
