"""Privacy commands: erasing a person's personal data (the right to be forgotten), keeping
the business links (number, roles, relationships, credit) and that a change happened."""
from sqlalchemy import delete, or_, update

from customer import access
from customer.adapters import repository as repo
from customer.adapters.models import HistoryEntry
from customer.application.changes import as_json, emit, record_history
from customer.domain import history
from guanxi_common.clock import utcnow
from guanxi_common.errors import BusinessRuleViolation
from guanxi_common.messaging_models import outbox_events

#: what an erasure blanks in the history (the change stays, its values go)
PERSONAL_FIELDS = ("name", "gender", "birth_date", "marital_status", "phones", "emails",
                   "addresses", "preferences", "tags")


def erase(uow, ref, reason):
    access.ensure_role(uow.actor, action="erase personal data")
    session = uow.session
    customer = repo.get_customer(session, ref, for_update=True)
    if customer.party_type != "person":
        raise BusinessRuleViolation("only a person's personal data can be erased",
                                    {"rule": "erase_person_only"})
    if customer.erased_at:
        return customer
    now = utcnow()
    customer.name = f"已删除 {customer.number}"
    customer.name_normalized = customer.match_key = customer.number.lower()
    customer.gender = customer.birth_date = customer.marital_status = None
    customer.preferences, customer.marketing_consent = {}, False
    customer.contact_points, customer.addresses, customer.tags = [], [], []
    customer.status, customer.erased_at = "erased", now
    customer.erased_by, customer.erase_reason = uow.actor.user_id, reason
    customer.version += 1
    customer.updated_at = now
    repo.reindex_name(session, customer)
    # the history keeps that a change happened, not the personal values it carried
    session.execute(update(HistoryEntry).where(
        HistoryEntry.customer_id == customer.id,
        or_(*[HistoryEntry.field.startswith(f) for f in PERSONAL_FIELDS]))
        .values(old_value=as_json("[erased]"), new_value=as_json("[erased]")))
    # published events carried snapshots with the personal data; unpublished ones must still go
    session.execute(delete(outbox_events).where(outbox_events.c.aggregate_id == customer.id,
                                                outbox_events.c.published_at.isnot(None)))
    session.flush()
    record_history(uow, customer, "erased", [history.Change("erased", None, True)], reason)
    emit(uow, "customer.erased", customer,
         {"customer": {"id": customer.id, "number": customer.number}, "reason": reason})
    return customer
