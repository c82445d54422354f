"""RPC of parties: create, read, update, search, duplicates, merge, history, credit limit."""
from customer.adapters import records
from customer.application import parties
from customer.entrypoints import api, record
from customer.queries import duplicates, parties as party_queries, search
from guanxi_common.contracts.customer import (UPDATABLE, CreditLimitSchema, CustomerCreatedSchema,
                                              CustomerCreateSchema, CustomerUpdateSchema,
                                              HISTORY_PAGE_SIZE_MAX, REASON_MAX, SearchSchema)
from guanxi_common.validation import int_arg, load, text_arg

CREATED = CustomerCreatedSchema()


class PartyEntrypoints:
    @api
    def create(self, customer):
        data = load(CustomerCreateSchema(), customer, field="customer")
        with self.uow as uow:
            created, warnings = parties.create_customer(uow, data)
        return CREATED.dump({"customer": records.record_of(created), "warnings": warnings})

    @api
    def get(self, ref):
        return party_queries.get(self.uow.session, self.uow.actor, text_arg("ref", ref))

    @api
    def update(self, ref, changes):
        data = load(CustomerUpdateSchema(), changes, field="changes", partial=UPDATABLE)
        with self.uow as uow:
            customer = parties.update_customer(uow, text_arg("ref", ref), data)
        return record(customer)

    @api
    def search(self, criteria=None):
        data = load(SearchSchema(), criteria or {}, field="criteria")
        return search.search(self.uow.session, self.uow.actor, data)

    @api
    def check_duplicates(self, customer):
        data = load(CustomerCreateSchema(), customer, field="customer")
        return duplicates.check_duplicates(self.uow.session, self.uow.actor, data)

    @api
    def merge(self, survivor, victim, reason=None):
        with self.uow as uow:
            kept, merged = parties.merge(
                uow, text_arg("survivor", survivor), text_arg("victim", victim),
                text_arg("reason", reason, max_length=REASON_MAX, required=False))
        return {"survivor": record(kept), "victim": record(merged)}

    @api
    def history(self, ref, page=1, page_size=50):
        return party_queries.history(
            self.uow.session, self.uow.actor, text_arg("ref", ref),
            int_arg("page", page, minimum=1),
            int_arg("page_size", page_size, minimum=1, maximum=HISTORY_PAGE_SIZE_MAX))

    @api
    def set_credit_limit(self, ref, credit):
        data = load(CreditLimitSchema(), credit, field="credit")
        with self.uow as uow:
            customer = parties.set_credit_limit(uow, text_arg("ref", ref), data)
        return record(customer)
