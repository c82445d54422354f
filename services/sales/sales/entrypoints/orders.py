"""RPC entrypoints of orders: place, change, release, cancel, ship, close, read."""
from guanxi_common.contracts.sales.orders import (OrderCriteriaSchema, OrderLinesSchema,
                                                  PlaceOrderSchema)
from guanxi_common.contracts.sales.references import ORDER_REASON_MAX
from guanxi_common.validation import load, text_arg
from sales.adapters.records import order_record
from sales.application import orders
from sales.entrypoints import api
from sales.queries import orders as order_queries


def _reason(value, required=True):
    return text_arg("reason", value, max_length=ORDER_REASON_MAX, required=required)


class OrderEntrypoints:

    @api
    def place_order(self, order):
        data = load(PlaceOrderSchema(), order, field="order")
        with self.uow as uow:
            result = order_record(uow.session, orders.place_order(uow, data))
        return result

    @api
    def get_order(self, ref):
        return order_queries.get_order(self.uow.session, self.uow.actor, text_arg("ref", ref))

    @api
    def list_orders(self, criteria=None):
        data = load(OrderCriteriaSchema(), criteria or {}, field="criteria")
        return order_queries.list_orders(self.uow.session, self.uow.actor, data)

    @api
    def change_order_lines(self, ref, lines):
        data = load(OrderLinesSchema(), {"lines": lines}, field="lines")
        with self.uow as uow:
            order = orders.change_order_lines(uow, text_arg("ref", ref), data["lines"])
            result = order_record(uow.session, order)
        return result

    @api
    def release_order(self, ref, reason):
        with self.uow as uow:
            order = orders.release_order(uow, text_arg("ref", ref), _reason(reason))
            result = order_record(uow.session, order)
        return result

    @api
    def cancel_order(self, ref, reason):
        with self.uow as uow:
            order = orders.cancel_order(uow, text_arg("ref", ref), _reason(reason))
            result = order_record(uow.session, order)
        return result

    @api
    def ship_order(self, ref):
        with self.uow as uow:
            result = order_record(uow.session, orders.ship_order(uow, text_arg("ref", ref)))
        return result

    @api
    def close_order(self, ref, reason=None):
        with self.uow as uow:
            order = orders.close_order(uow, text_arg("ref", ref), _reason(reason, required=False))
            result = order_record(uow.session, order)
        return result
