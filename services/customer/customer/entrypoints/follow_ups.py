"""Follow-ups restart a customer's pool clock: asked for over RPC, or reported by sales as
``activity.logged`` (a fact, so not authorised against the event's user)."""
from customer.application import pool
from customer.entrypoints import api
from guanxi_common.consumers import event_handler, idempotent
from guanxi_common.contracts.customer import (CONSUMED_EVENTS, FollowUpRecordedSchema,
                                              FollowUpSchema)
from guanxi_common.errors import ValidationFailed
from guanxi_common.validation import load

RECORDED = FollowUpRecordedSchema()
ACTIVITY_LOGGED = CONSUMED_EVENTS[("sales", "activity.logged")]


class FollowUpEntrypoints:
    @api
    def record_follow_up(self, follow_up):
        data = load(FollowUpSchema(), follow_up, field="follow_up")
        with self.uow as uow:
            customer = pool.record_follow_up(uow, data["customer"], data["occurred_at"])
            return RECORDED.dump({"number": customer.number,
                                  "last_follow_up_at": customer.last_follow_up_at})

    @event_handler("sales", "activity.logged")
    @idempotent
    def on_activity_logged(self, event):
        data = load(event_data_schema(event, ACTIVITY_LOGGED), event.get("data"), field="data")
        pool.record_follow_up(self.uow, data["customer_id"], data["occurred_at"], authorize=False)


def event_data_schema(event, versions):
    """The schema of ``event['data']`` for its ``schema_version``; an unknown version is
    invalid (parked, not guessed at)."""
    schema = versions.get(event.get("schema_version"))
    if schema is None:
        raise ValidationFailed(
            f"unknown schema_version {event.get('schema_version')!r} of {event.get('type')}",
            {"schema_version": [f"one of {sorted(versions)}"]})
    return schema()
