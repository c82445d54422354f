"""How sales' inputs name records and people: the bounds every area shares."""
from marshmallow import validate

from guanxi_common.contracts.fields import IDEMPOTENCY_KEY_MAX

#: a document or product reference: a number (SO-2026-000123), a SKU or an id
REF = validate.Length(min=1, max=40)
#: a customer or opportunity reference: a number (C00001234, OP-2026-000001) or an id
CUSTOMER_REF = validate.Length(min=1, max=36)
#: a user id (an owner, a rep)
OWNER = validate.Length(min=1, max=64)
#: a region: the customer's province
REGION = validate.Length(min=1, max=40)
#: an idempotency key as the service stores it
IDEMPOTENCY_KEY = validate.Length(min=1, max=IDEMPOTENCY_KEY_MAX)

#: a reason for a release, cancellation or closing of an order
ORDER_REASON_MAX = 500
#: the reason an opportunity was lost
LOST_REASON_MAX = 2000
#: a pipeline stage's code
STAGE_CODE_MAX = 30
#: an activity id (a UUID)
ACTIVITY_ID_MAX = 36
#: a customer reference of a replica read (number or id)
REPLICA_REF_MAX = 40
