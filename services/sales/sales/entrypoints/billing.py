"""RPC entrypoints of invoices and payments."""
from datetime import date

from guanxi_common.contracts.sales.billing import (DEFAULT_TERMS_DAYS, TERMS_DAYS_MAX,
                                                   InvoiceCriteriaSchema, PaymentSchema)
from guanxi_common.errors import ValidationFailed
from guanxi_common.validation import int_arg, load, text_arg
from sales.adapters.records import invoice_record, payment_record
from sales.application import billing
from sales.entrypoints import api
from sales.queries import billing as billing_queries


def _date_arg(name, value):
    if value is None:
        return None
    try:
        return date.fromisoformat(text_arg(name, value, max_length=10))
    except ValueError:
        raise ValidationFailed(f"{name} must be a date", {name: ["must be YYYY-MM-DD"]}) from None


class BillingEntrypoints:

    @api
    def issue_invoice(self, order_ref, terms_days=DEFAULT_TERMS_DAYS, issue_date=None):
        day = _date_arg("issue_date", issue_date)
        ref = text_arg("order_ref", order_ref)
        terms = int_arg("terms_days", terms_days, minimum=0, maximum=TERMS_DAYS_MAX)
        with self.uow as uow:
            invoice = billing.issue_invoice(uow, ref, terms, day)
            result = invoice_record(uow.session, invoice)
        return result

    @api
    def get_invoice(self, ref):
        return billing_queries.get_invoice(self.uow.session, self.uow.actor, text_arg("ref", ref))

    @api
    def list_invoices(self, criteria=None):
        data = load(InvoiceCriteriaSchema(), criteria or {}, field="criteria")
        return billing_queries.list_invoices(self.uow.session, self.uow.actor, data)

    @api
    def record_payment(self, payment):
        data = load(PaymentSchema(), payment, field="payment")
        with self.uow as uow:
            result = payment_record(uow.session, billing.record_payment(uow, data))
        return result
