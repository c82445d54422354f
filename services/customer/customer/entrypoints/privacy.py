"""RPC of the export and of privacy: the batched export and its JSON Schema, the data
subject's export, erasure."""
from functools import lru_cache

from customer.application import privacy
from customer.entrypoints import api, record
from customer.queries import export
from guanxi_common.contracts.customer import (EXPORT_BATCH_MAX, REASON_MAX,
                                              customer_record_json_schema)
from guanxi_common.contracts.enums import EXPORT_FORMATS
from guanxi_common.errors import ValidationFailed
from guanxi_common.validation import int_arg, text_arg

#: generated once per process, on the first ask
record_json_schema = lru_cache(maxsize=1)(customer_record_json_schema)


class PrivacyEntrypoints:
    @api
    def export_batch(self, after=0, limit=1000, format="jsonl"):
        if format not in EXPORT_FORMATS:
            raise ValidationFailed("unknown export format", {"format": ["must be jsonl or csv"]})
        return export.export_batch(self.uow.session, self.uow.actor,
                                   int_arg("after", after, minimum=0),
                                   int_arg("limit", limit, minimum=1, maximum=EXPORT_BATCH_MAX),
                                   format)

    @api
    def export_schema(self):
        return record_json_schema()

    @api
    def privacy_export(self, ref):
        return export.privacy_export(self.uow.session, self.uow.actor, text_arg("ref", ref))

    @api
    def erase(self, ref, reason):
        with self.uow as uow:
            customer = privacy.erase(uow, text_arg("ref", ref),
                                     text_arg("reason", reason, max_length=REASON_MAX))
        return record(customer)
