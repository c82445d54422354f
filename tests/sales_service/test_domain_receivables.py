from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from sales.domain.errors import DomainRuleError
from sales.domain.receivables import (
    BUCKETS,
    ageing,
    ageing_bucket,
    apply_payment,
    collection_list,
    days_overdue,
    due_date,
    dunning_label,
    dunning_level,
    invoice_status,
)

D = Decimal
AS_OF = date(2026, 6, 30)


def error_of(func, *args):
    with pytest.raises(DomainRuleError) as info:
        func(*args)
    return info.value


def code_of(func, *args):
    return error_of(func, *args).code


def test_due_date_from_payment_terms():
    assert due_date(date(2026, 1, 31), 30) == date(2026, 3, 2)   # February 2026 has 28 days
    assert due_date(date(2028, 1, 31), 30) == date(2028, 3, 1)   # 2028 is a leap year
    assert due_date(date(2026, 5, 15), 0) == date(2026, 5, 15)
    assert due_date(datetime(2026, 5, 15, 9, tzinfo=timezone.utc), 10) == date(2026, 5, 25)


@pytest.mark.parametrize("terms", [-1, 1.5, "30", True, None])
def test_payment_terms_are_whole_days(terms):
    assert code_of(due_date, date(2026, 1, 1), terms) == "invalid_terms"


def test_partial_payments_then_the_rest():
    outstanding = apply_payment(D("1000.00"), D("400.00"))
    assert outstanding == D("600.00")
    assert apply_payment(outstanding, D("600.00")) == D("0.00")


def test_overpayment_is_refused_by_one_cent():
    error = error_of(apply_payment, D("600.00"), D("600.01"))
    assert error.code == "overpayment" and "0.01" in error.message
    assert error.details == {"outstanding": "600.00", "amount": "600.01"}
    assert code_of(apply_payment, D("0.00"), D("0.01")) == "overpayment"


@pytest.mark.parametrize("amount,code", [(D("0"), "amount_not_positive"), (D("-5"), "amount_not_positive"),
                                         (D("10.005"), "amount_precision"), (10.5, "invalid_number")])
def test_bad_payment_amounts(amount, code):
    assert code_of(apply_payment, D("100"), amount) == code


def test_invoice_status():
    assert invoice_status(D("1000"), D("1000")) == "open"
    assert invoice_status(D("1000"), D("600")) == "partially_paid"
    assert invoice_status(D("1000"), D("0.01")) == "partially_paid"
    assert invoice_status(D("1000"), D("0")) == "paid"
    assert invoice_status(D("0"), D("0")) == "paid"


@pytest.mark.parametrize("due,bucket", [
    (date(2026, 7, 10), "0-30"),   # not yet due
    (date(2026, 6, 30), "0-30"),   # due today
    (date(2026, 5, 31), "0-30"),   # 30 days
    (date(2026, 5, 30), "31-60"),  # 31 days
    (date(2026, 5, 1), "31-60"),   # 60 days
    (date(2026, 4, 30), "61-90"),  # 61 days
    (date(2026, 4, 1), "61-90"),   # 90 days
    (date(2026, 3, 31), "90+"),    # 91 days
])
def test_ageing_bucket_boundaries(due, bucket):
    assert ageing_bucket(due, AS_OF) == bucket


FIVE_INVOICES = [
    (D("1200.00"), date(2026, 7, 15)),  # not yet due          -> 0-30
    (D("800.50"), date(2026, 6, 10)),   # 20 days overdue      -> 0-30
    (D("2500.00"), date(2026, 5, 20)),  # 41 days              -> 31-60
    (D("300.25"), date(2026, 4, 5)),    # 86 days              -> 61-90
    (D("4000.00"), date(2026, 1, 31)),  # 150 days             -> 90+
]


def test_ageing_of_five_invoices():
    assert [days_overdue(due, AS_OF) for _, due in FIVE_INVOICES] == [0, 20, 41, 86, 150]
    report = ageing(FIVE_INVOICES, AS_OF)
    assert report == {"0-30": D("2000.50"), "31-60": D("2500.00"), "61-90": D("300.25"), "90+": D("4000.00")}
    assert list(report) == list(BUCKETS)
    assert sum(report.values()) == D("8800.75")


def test_empty_buckets_are_reported_as_zero():
    report = ageing([FIVE_INVOICES[0], FIVE_INVOICES[4], (D("0.00"), date(2026, 1, 1))], AS_OF)
    assert report == {"0-30": D("1200.00"), "31-60": D("0.00"), "61-90": D("0.00"), "90+": D("4000.00")}


@pytest.mark.parametrize("days,level", [(-5, 0), (0, 0), (1, 1), (30, 1), (31, 2), (60, 2), (61, 3), (365, 3)])
def test_dunning_levels(days, level):
    assert dunning_level(days) == level


def test_dunning_labels():
    assert [dunning_label(level) for level in (1, 2, 3)] == ["reminder", "second notice", "final notice"]
    assert dunning_label(3, "zh") == "最后催款通知"


def test_collection_list_per_owner_most_overdue_first():
    items = [
        {"owner": "rep-1", "invoice": "INV-1", "outstanding": D("100.00"), "due_date": date(2026, 6, 20)},  # 10 d
        {"owner": "rep-1", "invoice": "INV-2", "outstanding": D("50.00"), "due_date": date(2026, 4, 1)},    # 90 d
        {"owner": "rep-2", "invoice": "INV-3", "outstanding": D("70.00"), "due_date": date(2026, 5, 15)},   # 46 d
        {"owner": "rep-2", "invoice": "INV-4", "outstanding": D("900.00"), "due_date": date(2026, 7, 1)},   # not due
        {"owner": "rep-2", "invoice": "INV-5", "outstanding": D("0.00"), "due_date": date(2026, 1, 1)},     # paid
        {"owner": "rep-1", "invoice": "INV-6", "outstanding": D("80.00"), "due_date": date(2026, 6, 20)},   # 10 d
    ]
    result = collection_list(items, AS_OF)
    assert [e["invoice"] for e in result["rep-1"]] == ["INV-2", "INV-1", "INV-6"]  # 90 d, then 10 d by amount
    assert [(e["days_overdue"], e["dunning_level"], e["dunning_label"]) for e in result["rep-1"]] == [
        (90, 3, "final notice"), (10, 1, "reminder"), (10, 1, "reminder")]
    assert [(e["invoice"], e["dunning_level"]) for e in result["rep-2"]] == [("INV-3", 2)]
