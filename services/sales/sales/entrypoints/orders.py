"""RPC entrypoints of orders, invoices and payments: parse, call, dump.

Composed into the sales service class (``sales.service``) next to the other areas'
mixins; the dependencies (``uow``) come from ``sales.base.SalesDependencies``.
"""
from datetime import date

from guanxi_common.errors import ValidationFailed
from guanxi_common.validation import int_arg, load, text_arg
from sales import billing, orders
from sales.base import api
from sales.schemas.orders import (InvoiceCriteriaSchema, OrderCriteriaSchema, OrderLinesSchema,
                                  PaymentSchema, PlaceOrderSchema)


class OrderEntrypoints:

    # ---- orders ---------------------------------------------------------------------------
    @api
    def place_order(self, order):
        data = load(PlaceOrderSchema(), order, field="order")
        with self.uow as uow:
            placed = orders.place_order(uow, data)
            result = orders.order_record(uow.session, placed)
        return result

    @api
    def get_order(self, ref):
        return orders.get_order(self.uow.session, self.uow.actor, text_arg("ref", ref))

    @api
    def list_orders(self, criteria=None):
        data = load(OrderCriteriaSchema(), criteria or {}, field="criteria")
        return orders.list_orders(self.uow.session, self.uow.actor, data)

    @api
    def change_order_lines(self, ref, lines):
        data = load(OrderLinesSchema(), {"lines": lines}, field="lines")
        with self.uow as uow:
            order = orders.change_order_lines(uow, text_arg("ref", ref), data["lines"])
            result = orders.order_record(uow.session, order)
        return result

    @api
    def release_order(self, ref, reason):
        with self.uow as uow:
            order = orders.release_order(uow, text_arg("ref", ref),
                                         text_arg("reason", reason, max_length=500))
            result = orders.order_record(uow.session, order)
        return result

    @api
    def cancel_order(self, ref, reason):
        with self.uow as uow:
            order = orders.cancel_order(uow, text_arg("ref", ref),
                                        text_arg("reason", reason, max_length=500))
            result = orders.order_record(uow.session, order)
        return result

    @api
    def ship_order(self, ref):
        with self.uow as uow:
            order = orders.ship_order(uow, text_arg("ref", ref))
            result = orders.order_record(uow.session, order)
        return result

    @api
    def close_order(self, ref, reason=None):
        with self.uow as uow:
            order = orders.close_order(uow, text_arg("ref", ref),
                                       text_arg("reason", reason, max_length=500, required=False))
            result = orders.order_record(uow.session, order)
        return result

    # ---- invoices and payments ------------------------------------------------------------
    @api
    def issue_invoice(self, order_ref, terms_days=30, issue_date=None):
        day = _date_arg("issue_date", issue_date)
        with self.uow as uow:
            invoice = billing.issue_invoice(uow, text_arg("order_ref", order_ref),
                                            int_arg("terms_days", terms_days, minimum=0, maximum=365),
                                            day)
            result = billing.invoice_record(uow.session, invoice)
        return result

    @api
    def get_invoice(self, ref):
        return billing.get_invoice(self.uow.session, self.uow.actor, text_arg("ref", ref))

    @api
    def list_invoices(self, criteria=None):
        data = load(InvoiceCriteriaSchema(), criteria or {}, field="criteria")
        return billing.list_invoices(self.uow.session, self.uow.actor, data)

    @api
    def record_payment(self, payment):
        data = load(PaymentSchema(), payment, field="payment")
        with self.uow as uow:
            recorded = billing.record_payment(uow, data)
            result = billing.payment_record(uow.session, recorded)
        return result


def _date_arg(name, value):
    if value is None:
        return None
    try:
        return date.fromisoformat(text_arg(name, value, max_length=10))
    except ValueError:
        raise ValidationFailed(f"{name} must be a date", {name: ["must be YYYY-MM-DD"]}) from None
