"""HTTP schemas of the customer endpoints and the Customer 360 answer.

The customer service's contract (``guanxi_common.contracts.customer``) is the schema of
every body, query and answer here: a request is refused at the edge with the field errors
the service would give, and the OpenAPI document describes exactly what the service takes
and gives. What this module adds is HTTP only: a body without the part the path carries,
descriptions that speak of headers, and the Customer 360 answer the gateway composes.

The RPC gets the body as the client sent it once it passed (``gateway.api.bodies``). Answers
arrive as JSON and are dumped with the contract's answer schemas, which pass such values
through.
"""
import copy

from marshmallow import Schema, fields

from guanxi_common.contracts import customer as contract
from guanxi_common.contracts.sales.activities import ActivityOut
from guanxi_common.contracts.sales.billing import InvoiceOut
from guanxi_common.contracts.sales.orders import OrderSummaryOut

# ---- bodies and queries: the contract's -------------------------------------------------------

CustomerCreateSchema = contract.CustomerCreateSchema
CustomerSearchQuerySchema = contract.CustomerCriteriaSchema
CustomerCreditLimitSchema = contract.CreditLimitSchema
CustomerMergeSchema = contract.MergeRequestSchema
RoleAddSchema = contract.RoleRequestSchema
RelationshipEndSchema = contract.RelationshipEndSchema
RelationshipsQuerySchema = contract.RelationshipsCriteriaSchema
PoolReleaseSchema = contract.ReleaseRequestSchema
PoolAssignSchema = contract.AssignRequestSchema
CustomerEraseSchema = contract.EraseRequestSchema
ExportQuerySchema = contract.ExportCriteriaSchema
LookupQuerySchema = contract.PhoneLookupSchema


def _described(schema_cls, name, description):
    """The contract's field ``name`` of ``schema_cls`` with an HTTP description."""
    field = copy.copy(schema_cls._declared_fields[name])
    field.metadata = {**field.metadata, "description": description}
    return field


class CustomerUpdateSchema(contract.CustomerUpdateSchema):
    """Only the fields given change; lists given replace the stored ones."""

    expected_version = _described(contract.CustomerUpdateSchema, "expected_version",
                                  'Optimistic lock (or send If-Match: "<version>").')


class RelationshipAddSchema(contract.RelationshipCreateSchema):
    """A relationship from the customer in the path to ``to_customer``."""

    class Meta(contract.RelationshipCreateSchema.Meta):
        exclude = ("from_customer",)


# ---- answers: the contract's ------------------------------------------------------------------

CustomerRecordSchema = contract.CustomerRecordSchema
CustomerSummarySchema = contract.CustomerSummarySchema
CustomerCreatedSchema = contract.CustomerCreatedSchema
DuplicateCheckSchema = contract.DuplicateCheckSchema
MergeResultSchema = contract.MergeResultSchema
RelationshipSchema = contract.RelationshipSchema
RelationshipListItemSchema = contract.RelationshipListItemSchema
GroupTreeSchema = contract.GroupTreeSchema
HistoryEntrySchema = contract.HistoryEntrySchema
RoleTypeSchema = contract.RoleTypeSchema
RelationshipTypeSchema = contract.RelationshipTypeSchema
PrivacyExportSchema = contract.PrivacyExportSchema


class CustomerRolesSchema(Schema):
    """``GET /customers/{number}/roles``: the record's roles under its number."""

    number = fields.String()
    roles = fields.List(fields.String())


# ---- Customer 360 (composed here) -------------------------------------------------------------

class _SectionSchema(Schema):
    def get_attribute(self, obj, attr, default):
        # An unavailable section is {"available", "error"} only: its missing "items" must
        # stay missing, not be found as the dict's items() method.
        return obj.get(attr, default) if isinstance(obj, dict) else super().get_attribute(
            obj, attr, default)

    available = fields.Boolean(required=True, metadata={
        "description": "False when the service holding this section did not answer in time; "
                       "then only 'error' accompanies it."})
    error = fields.String(metadata={"description": "'<service> unavailable'"})


class ProfileSectionSchema(_SectionSchema):
    customer = fields.Nested(CustomerRecordSchema)


class RolesSectionSchema(_SectionSchema):
    items = fields.List(fields.String())


def _record_field(name):
    """A field of the customer record, optional (an unavailable section lacks it)."""
    field = copy.copy(CustomerRecordSchema._declared_fields[name])
    field.required = False
    return field


class OwnerSectionSchema(_SectionSchema):
    owner_id = _record_field("owner_id")
    in_pool = _record_field("in_pool")
    owned_since = _record_field("owned_since")
    last_follow_up_at = _record_field("last_follow_up_at")


class RelationshipsSectionSchema(_SectionSchema):
    items = fields.List(fields.Nested(RelationshipListItemSchema))


class OpenOrdersSectionSchema(_SectionSchema):
    items = fields.List(fields.Nested(OrderSummaryOut))
    total = fields.Integer(metadata={"description": "Open orders (on hold, confirmed, shipped, "
                                                    "invoiced); items shows the newest."})


class ReceivablesSectionSchema(_SectionSchema):
    items = fields.List(fields.Nested(InvoiceOut))
    total = fields.Integer(metadata={"description": "Unpaid invoices (open, partially paid)."})
    outstanding = fields.Dict(keys=fields.String(), values=fields.String(metadata={
        "format": "decimal"}), metadata={
        "description": "Outstanding amount of the listed invoices by currency."})


class ActivitiesSectionSchema(_SectionSchema):
    items = fields.List(fields.Nested(ActivityOut))
    total = fields.Integer()


class Customer360Schema(Schema):
    """Everything about one customer in one answer, from the services in parallel."""

    number = fields.String()
    profile = fields.Nested(ProfileSectionSchema)
    roles = fields.Nested(RolesSectionSchema)
    owner = fields.Nested(OwnerSectionSchema)
    relationships = fields.Nested(RelationshipsSectionSchema)
    open_orders = fields.Nested(OpenOrdersSectionSchema)
    receivables = fields.Nested(ReceivablesSectionSchema)
    recent_activities = fields.Nested(ActivitiesSectionSchema)
    complete = fields.Boolean(metadata={"description": "False when any section is unavailable."})
