"""What sales reads of the customer service (its replica's consumer schemas), and the
replica row it answers with.

Sales keeps a subset of the customer record; every schema here ignores the keys it does
not read (``unknown = EXCLUDE``), so the customer service may add fields freely, and
``tests/contracts`` proves each accepts what the customer producer schemas declare.
"""
from marshmallow import EXCLUDE, Schema, fields, validate

from guanxi_common.contracts.enums import CREDIT_POLICIES, PARTY_TYPES
from guanxi_common.contracts.fields import WireDateTime


class _Reader(Schema):
    class Meta:
        unknown = EXCLUDE


def _text(max_length, **kwargs):
    return fields.String(allow_none=True, load_default=None,
                         validate=validate.Length(max=max_length), **kwargs)


class CustomerReplicaIn(_Reader):
    """The part of the customer record sales keeps: from ``customer.created`` /
    ``customer.updated`` (``data.customer``) and from the export's JSON Lines."""

    id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    number = fields.String(required=True, validate=validate.Length(min=1, max=16))
    # empty allowed: names stored before the customer service trimmed them may be blank,
    # and a replica must never park a customer's events for what its owner once accepted
    name = fields.String(required=True, validate=validate.Length(max=200))
    party_type = fields.String(required=True, validate=validate.OneOf(PARTY_TYPES))
    status = fields.String(required=True, validate=validate.Length(min=1, max=12))
    roles = fields.List(fields.String(validate=validate.Length(min=1, max=30)),
                        load_default=list)
    credit_limit = fields.Decimal(allow_none=True, load_default=None)
    credit_currency = fields.String(load_default="CNY", validate=validate.Length(equal=3))
    credit_policy = fields.String(load_default="none", validate=validate.OneOf(CREDIT_POLICIES))
    owner_id = _text(64)
    province = _text(40)
    city = _text(60)
    tier = _text(12)
    merged_into = _text(36)  # the survivor's number, or an id
    erased = fields.Boolean(load_default=False)
    version = fields.Integer(strict=True, allow_none=True, load_default=None,
                             validate=validate.Range(min=1))


class CustomerSnapshotIn(_Reader):
    """``customer.created`` and ``customer.updated``: the full record."""

    customer = fields.Nested(CustomerReplicaIn, required=True)


class CustomerRefIn(_Reader):
    id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    number = fields.String(required=True, validate=validate.Length(min=1, max=16))


class CustomerOwnerChangedIn(_Reader):
    new_owner_id = fields.String(required=True, allow_none=True,
                                 validate=validate.Length(max=64))


class CustomerMergedIn(_Reader):
    survivor = fields.Nested(CustomerRefIn, required=True)
    victim = fields.Nested(CustomerRefIn, required=True)


class CustomerErasedIn(_Reader):
    customer = fields.Nested(CustomerRefIn, required=True)


#: (source service, event type) -> schema_version -> the schema sales reads of its ``data``
CONSUMED_EVENTS = {
    ("customer", "customer.created"): {1: CustomerSnapshotIn},
    ("customer", "customer.updated"): {1: CustomerSnapshotIn},
    ("customer", "customer.owner_changed"): {1: CustomerOwnerChangedIn},
    ("customer", "customer.merged"): {1: CustomerMergedIn},
    ("customer", "customer.erased"): {1: CustomerErasedIn},
}


class ReplicaOut(Schema):
    """A replica row on the wire (RPC ``replica_customer``)."""

    id = fields.String()
    number = fields.String()
    name = fields.String()
    party_type = fields.String()
    status = fields.String()
    roles = fields.List(fields.String())
    credit_limit = fields.Decimal(as_string=True, allow_none=True)
    credit_currency = fields.String()
    credit_policy = fields.String()
    owner_id = fields.String(allow_none=True)
    province = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    tier = fields.String(allow_none=True)
    merged_into_id = fields.String(allow_none=True)
    erased = fields.Boolean()
    version = fields.Integer()
    updated_at = WireDateTime()


class ReplicaStatusOut(Schema):
    """RPC ``replica_status``."""

    customers = fields.Integer()
    max_version = fields.Integer(allow_none=True)
    last_applied_at = fields.String(allow_none=True)
    caught_up = fields.Boolean()
    caught_up_at = fields.String(allow_none=True)
