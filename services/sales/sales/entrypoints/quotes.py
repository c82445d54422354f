"""RPC entrypoints of quotes."""
from guanxi_common.contracts.sales.quotes import (OrderRefOut, QuoteAcceptanceOut,
                                                  QuoteCreateSchema, QuotePartnersIn)
from guanxi_common.validation import load, text_arg
from sales.adapters.records import quote_record
from sales.application import quotes
from sales.entrypoints import api
from sales.queries import quotes as quote_queries

acceptance_out = QuoteAcceptanceOut()
order_ref_out = OrderRefOut()


class QuoteEntrypoints:

    @api
    def create_quote(self, quote):
        data = load(QuoteCreateSchema(), quote, field="quote")
        with self.uow as uow:
            result = quote_record(quotes.create_quote(uow, data))
        return result

    @api
    def send_quote(self, ref):
        with self.uow as uow:
            result = quote_record(quotes.send_quote(uow, text_arg("ref", ref)))
        return result

    @api
    def accept_quote(self, ref, partners=None):
        named = load(QuotePartnersIn(), partners or {}, field="partners")
        with self.uow as uow:
            quote, order = quotes.accept_quote(uow, text_arg("ref", ref), named)
            result = {"quote": quote_record(quote), "order": order_ref_out.dump(order)}
        return result

    @api
    def reject_quote(self, ref):
        with self.uow as uow:
            result = quote_record(quotes.reject_quote(uow, text_arg("ref", ref)))
        return result

    @api
    def get_quote(self, ref):
        return quote_record(quote_queries.get_quote(self.uow.session, self.uow.actor,
                                                    text_arg("ref", ref)))
