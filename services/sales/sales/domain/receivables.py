"""Invoices, payments, receivables ageing and dunning.

Why these rules:
- Due date = issue date + payment-terms days (30 days net: issued 31 Jan, due 2 Mar in
  a common year).  Dates are the office's calendar dates; a datetime is reduced to its
  own date, so convert it to the office time zone first.
- A payment is positive and at most the outstanding amount: an overpayment is refused
  rather than kept as a silent credit balance nobody handles; the payer is asked to pay
  the exact amount (or the surplus is refunded outside this rule).  Amounts carry at most
  2 decimals: a payment of 10.005 is a data error, not something to round away.
- Invoice status: open (nothing paid), partially_paid, paid (nothing outstanding).
- Ageing buckets by days past due, as of a date: 0-30, 31-60, 61-90, 90+.  An invoice
  not yet due (or due today) counts in 0-30: the report then sums to the whole
  receivable, and "current" amounts sit with the least risky ones instead of vanishing.
- Dunning (催款) by days overdue: 0 not overdue, 1 = 1-30 days (reminder, 付款提醒),
  2 = 31-60 (second notice, 第二次催款通知), 3 = more than 60 (final notice, 最后催款通知)
  — the level rises a month after each notice, and after the final notice the matter
  leaves the rep for collection.
"""

from collections.abc import Hashable, Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal

from guanxi_common.contracts.enums import AGEING_BUCKETS
from guanxi_common.contracts.enums import INVOICE_STATUSES as _INVOICE_STATUSES

from .errors import DomainRuleError
from .money import CENT, ZERO, money, to_decimal

OPEN, PARTIALLY_PAID, PAID = INVOICE_STATUSES = _INVOICE_STATUSES

BUCKETS = AGEING_BUCKETS
_BUCKET_LIMITS = ((30, "0-30"), (60, "31-60"), (90, "61-90"))

DUNNING_LEVELS = (0, 1, 2, 3)
DUNNING_LABELS = {
    0: ("not overdue", "未逾期"),
    1: ("reminder", "付款提醒"),
    2: ("second notice", "第二次催款通知"),
    3: ("final notice", "最后催款通知"),
}


class ReceivablesRuleError(DomainRuleError):
    """codes: invalid_terms, amount_not_positive, overpayment, amount_precision,
    invalid_number, invalid_outstanding."""


def _day(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


def _amount(value, field: str) -> Decimal:
    try:
        amount = to_decimal(value, field)
    except DomainRuleError as error:
        raise ReceivablesRuleError(error.code, error.message) from None
    if amount != amount.quantize(CENT):
        raise ReceivablesRuleError("amount_precision", f"{field} has more than 2 decimals ({amount})")
    return money(amount)


def due_date(issue_date: date, terms_days: int) -> date:
    """The day payment falls due: ``terms_days`` (0 = due on issue) after the issue date."""
    if isinstance(terms_days, bool) or not isinstance(terms_days, int) or terms_days < 0:
        raise ReceivablesRuleError("invalid_terms", f"payment terms are a whole number of days, 0 or more, "
                                                    f"not {terms_days!r}")
    return _day(issue_date) + timedelta(days=terms_days)


def apply_payment(outstanding: Decimal, amount: Decimal) -> Decimal:
    """The outstanding amount after a payment of ``amount``."""
    owed = _amount(outstanding, "outstanding")
    paid = _amount(amount, "amount")
    if owed < 0:
        raise ReceivablesRuleError("invalid_outstanding", f"outstanding amount cannot be negative ({owed})")
    if paid <= 0:
        raise ReceivablesRuleError("amount_not_positive", f"a payment is more than 0, not {paid}")
    if paid > owed:
        raise ReceivablesRuleError("overpayment", f"payment {paid} exceeds the outstanding amount {owed} "
                                                  f"by {paid - owed}", {"outstanding": str(owed), "amount": str(paid)})
    return owed - paid


def invoice_status(total: Decimal, outstanding: Decimal) -> str:
    """open (nothing paid yet), partially_paid, or paid (nothing outstanding; also a 0 invoice)."""
    total_, owed = _amount(total, "total"), _amount(outstanding, "outstanding")
    if owed <= 0:
        return PAID
    if owed >= total_:
        return OPEN
    return PARTIALLY_PAID


def days_overdue(due: date, as_of: date) -> int:
    """Whole days past the due date (0 when not yet due or due today)."""
    return max((_day(as_of) - _day(due)).days, 0)


def ageing_bucket(due: date, as_of: date) -> str:
    """'0-30', '31-60', '61-90' or '90+' by days past due; not yet due counts in '0-30'."""
    days = days_overdue(due, as_of)
    for limit, bucket in _BUCKET_LIMITS:
        if days <= limit:
            return bucket
    return "90+"


def ageing(invoices: Iterable[tuple[Decimal, date]], as_of: date) -> dict[str, Decimal]:
    """Outstanding amounts summed per bucket (every bucket present, in order, 0 when empty)."""
    sums = {bucket: ZERO for bucket in BUCKETS}
    for outstanding, due in invoices:
        sums[ageing_bucket(due, as_of)] += _amount(outstanding, "outstanding")
    return {bucket: money(total) for bucket, total in sums.items()}


def dunning_level(days_overdue: int) -> int:
    """0: not overdue, 1: 1-30 days, 2: 31-60, 3: more than 60."""
    if days_overdue <= 0:
        return 0
    if days_overdue <= 30:
        return 1
    if days_overdue <= 60:
        return 2
    return 3


def dunning_label(level: int, language: str = "en") -> str:
    """The notice's name: reminder / second notice / final notice (``language`` 'zh' for Chinese)."""
    english, chinese = DUNNING_LABELS[level]
    return chinese if language == "zh" else english


def collection_list(items: Iterable[Mapping], as_of: date) -> dict[Hashable, list[dict]]:
    """The arrears-collection list: overdue invoices with an outstanding amount, per owner.

    Each item is a mapping with at least ``owner``, ``outstanding`` and ``due_date`` (any
    other keys — customer, invoice number — are kept).  Each entry gains
    ``days_overdue``, ``dunning_level`` and ``dunning_label``; entries are sorted most
    overdue first, then by larger amount; owners appear in the order they first occur.
    """
    by_owner: dict[Hashable, list[dict]] = {}
    for item in items:
        outstanding = _amount(item["outstanding"], "outstanding")
        days = days_overdue(item["due_date"], as_of)
        if outstanding <= 0 or days == 0:
            continue
        level = dunning_level(days)
        entry = dict(item, outstanding=outstanding, days_overdue=days, dunning_level=level,
                     dunning_label=dunning_label(level))
        by_owner.setdefault(item["owner"], []).append(entry)
    for entries in by_owner.values():
        entries.sort(key=lambda e: (-e["days_overdue"], -e["outstanding"]))
    return by_owner
