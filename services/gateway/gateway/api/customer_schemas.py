"""HTTP wire schemas of the customer endpoints and the Customer 360 answer.

They mirror the customer service's RPC contract (docs/rpc/customer.md) so that a request is
refused at the edge with field-level errors, and the OpenAPI document describes what the
endpoints really take and give. The service stays the authority: it validates again and
normalises (phones to E.164, credit-code checksums, party-type rules).

Two constraints shape the fields:

- loaded bodies travel on over RPC as JSON, so dates and decimals load to *strings*
  (:class:`DateString`, :class:`DecimalString`) while still being checked and documented
  as ``format: date`` / ``format: decimal``;
- answers arrive over RPC as JSON too (times and money already strings), and marshmallow 4
  cannot dump a string through ``fields.Date``/``DateTime``: response schemas use
  :func:`datetime_out` / :func:`date_out` / :func:`money_out`, strings with a format.
"""
import datetime as _dt
from decimal import Decimal

from marshmallow import RAISE, Schema, fields, validate

PARTY_TYPES = ("person", "company")
STATUSES = ("prospect", "active", "lost", "blocked", "merged", "erased")
PUBLIC_STATUSES = ("prospect", "active", "lost", "blocked")
TIERS = ("A", "B", "C")
CREDIT_POLICIES = ("none", "warn", "block")
GENDERS = ("male", "female", "other", "unknown")
MARITAL_STATUSES = ("single", "married", "divorced", "widowed", "unknown")
ADDRESS_TYPES = ("registered", "office", "billing", "shipping", "home", "other")
EXPORT_FORMATS = ("jsonl", "csv")
CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="must be an ISO 4217 code such as CNY")
TAG = validate.Length(min=1, max=50)


# --- fields -------------------------------------------------------------------------------

class DateString(fields.Date):
    """A ``YYYY-MM-DD`` date, checked on load and kept as its ISO string (JSON over RPC)."""

    def deserialize(self, value, attr=None, data=None, **kwargs):
        day = super().deserialize(value, attr, data, **kwargs)
        return day.isoformat() if isinstance(day, _dt.date) else day

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None or isinstance(value, str):
            return value
        return super()._serialize(value, attr, obj, **kwargs)


class DecimalString(fields.Decimal):
    """Money: a decimal checked on load (places, range) and passed on as a string."""

    def __init__(self, **kwargs):
        kwargs.setdefault("places", 2)
        super().__init__(as_string=True, **kwargs)

    def deserialize(self, value, attr=None, data=None, **kwargs):
        number = super().deserialize(value, attr, data, **kwargs)  # validated as a Decimal
        return str(number) if isinstance(number, Decimal) else number


def money_in(**kwargs):
    return DecimalString(validate=validate.Range(min=0), **kwargs)


def datetime_out(**kwargs):
    return fields.String(metadata={"format": "date-time"}, **kwargs)


def date_out(**kwargs):
    return fields.String(metadata={"format": "date"}, **kwargs)


def money_out(**kwargs):
    return fields.String(metadata={"format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}, **kwargs)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


# --- input --------------------------------------------------------------------------------

class CustomerPhoneInSchema(StrictSchema):
    value = fields.String(required=True, validate=validate.Length(min=3, max=40), metadata={
        "description": "Any written form: '138 1234 5678', '+86-138-1234-5678', '0755-2878 0808'."})
    label = fields.String(allow_none=True, validate=validate.Length(max=20))
    is_primary = fields.Boolean()


class CustomerEmailInSchema(StrictSchema):
    value = fields.String(required=True, validate=validate.Length(min=3, max=254))
    label = fields.String(allow_none=True, validate=validate.Length(max=20))
    is_primary = fields.Boolean()


class CustomerAddressInSchema(StrictSchema):
    type = fields.String(required=True, validate=validate.OneOf(ADDRESS_TYPES))
    country = fields.String(validate=validate.Regexp(r"^[A-Z]{2}$"))
    province = fields.String(allow_none=True, validate=validate.Length(max=40))
    city = fields.String(allow_none=True, validate=validate.Length(max=60))
    district = fields.String(allow_none=True, validate=validate.Length(max=60))
    street = fields.String(allow_none=True, validate=validate.Length(max=200))
    postal_code = fields.String(allow_none=True, validate=validate.Length(max=12))
    is_default = fields.Boolean()


class CustomerFinancialInSchema(StrictSchema):
    fiscal_year = fields.Integer(required=True, validate=validate.Range(min=1900, max=2200))
    currency = fields.String(validate=CURRENCY)
    revenue = DecimalString(allow_none=True)
    net_profit = DecimalString(allow_none=True)
    total_assets = DecimalString(allow_none=True)


class _CustomerFields(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    status = fields.String(validate=validate.OneOf(PUBLIC_STATUSES))
    tier = fields.String(allow_none=True, validate=validate.OneOf(TIERS))
    province = fields.String(allow_none=True, validate=validate.Length(max=40))
    city = fields.String(allow_none=True, validate=validate.Length(max=60))
    tags = fields.List(fields.String(validate=TAG), validate=validate.Length(max=50))
    phones = fields.List(fields.Nested(CustomerPhoneInSchema), validate=validate.Length(max=20))
    emails = fields.List(fields.Nested(CustomerEmailInSchema), validate=validate.Length(max=20))
    addresses = fields.List(fields.Nested(CustomerAddressInSchema), validate=validate.Length(max=20))
    preferences = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=60)),
                              values=fields.Raw(allow_none=True))
    marketing_consent = fields.Boolean()
    credit_limit = money_in(allow_none=True, metadata={"description": "Needs credit_manager."})
    credit_currency = fields.String(validate=CURRENCY)
    credit_policy = fields.String(validate=validate.OneOf(CREDIT_POLICIES),
                                  metadata={"description": "Needs credit_manager."})
    gender = fields.String(allow_none=True, validate=validate.OneOf(GENDERS))
    birth_date = DateString(allow_none=True)
    marital_status = fields.String(allow_none=True, validate=validate.OneOf(MARITAL_STATUSES))
    industry = fields.String(allow_none=True, validate=validate.Length(max=80))
    founded_on = DateString(allow_none=True)
    registered_capital = money_in(allow_none=True)
    registered_capital_currency = fields.String(allow_none=True, validate=CURRENCY)
    credit_code = fields.String(allow_none=True, validate=validate.Length(max=30), metadata={
        "description": "Unified social credit code (18 characters, checksum-valid)."})
    financials = fields.List(fields.Nested(CustomerFinancialInSchema), validate=validate.Length(max=50))


class CustomerCreateSchema(_CustomerFields):
    """A new customer (person fields for persons, company fields for companies)."""

    party_type = fields.String(required=True, validate=validate.OneOf(PARTY_TYPES))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    owner_id = fields.String(allow_none=True, validate=validate.Length(max=64), metadata={
        "description": "Null: the pool. A sales rep always becomes the owner."})
    roles = fields.List(fields.String(validate=validate.Length(min=1, max=30)))


class CustomerUpdateSchema(_CustomerFields):
    """Only the fields given change; lists given replace the stored ones."""

    expected_version = fields.Integer(validate=validate.Range(min=1), metadata={
        "description": "Optimistic lock (or send If-Match: \"<version>\")."})


class CustomerSearchQuerySchema(StrictSchema):
    q = fields.String(validate=validate.Length(min=1, max=100), metadata={
        "description": "One search box: a number, an e-mail, a credit code, a phone or a name."})
    name = fields.String(validate=validate.Length(min=1, max=100))
    number = fields.String(validate=validate.Length(min=1, max=16))
    phone = fields.String(validate=validate.Length(min=3, max=40))
    email = fields.String(validate=validate.Length(min=3, max=254))
    credit_code = fields.String(validate=validate.Length(min=1, max=30))
    role = fields.String(validate=validate.Length(min=1, max=30))
    status = fields.String(validate=validate.OneOf(STATUSES))
    party_type = fields.String(validate=validate.OneOf(PARTY_TYPES))
    province = fields.String(validate=validate.Length(min=1, max=40))
    city = fields.String(validate=validate.Length(min=1, max=60))
    owner_id = fields.String(validate=validate.Length(min=1, max=64))
    in_pool = fields.Boolean()
    tier = fields.String(validate=validate.OneOf(TIERS))
    tag = fields.String(validate=TAG)
    include_merged = fields.Boolean()


class CustomerMergeSchema(StrictSchema):
    victim = fields.String(required=True, validate=validate.Length(min=1, max=40), metadata={
        "description": "The customer merged into the one in the path (which survives)."})
    reason = fields.String(allow_none=True, validate=validate.Length(max=500))


class RoleAddSchema(StrictSchema):
    role = fields.String(required=True, validate=validate.Length(min=1, max=30),
                         metadata={"description": "A code of GET /role-types."})


class RelationshipAddSchema(StrictSchema):
    """A relationship from the customer in the path to ``to_customer``."""

    type = fields.String(required=True, validate=validate.Length(min=1, max=30), metadata={
        "description": "A code or inverse code of GET /relationship-types."})
    to_customer = fields.String(required=True, validate=validate.Length(min=1, max=40))
    valid_from = DateString(allow_none=True)
    valid_to = DateString(allow_none=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=200))


class RelationshipEndSchema(StrictSchema):
    valid_to = DateString(allow_none=True, metadata={"description": "Default: today."})


class RelationshipsQuerySchema(StrictSchema):
    include_ended = fields.Boolean(load_default=False)


class PoolReleaseSchema(StrictSchema):
    reason = fields.String(allow_none=True, validate=validate.Length(min=1, max=500))


class PoolAssignSchema(StrictSchema):
    owner_id = fields.String(required=True, allow_none=True, validate=validate.Length(min=1, max=64),
                             metadata={"description": "Null returns the customer to the pool."})


class CustomerCreditLimitSchema(StrictSchema):
    credit_limit = money_in(required=True, allow_none=True)
    credit_currency = fields.String(validate=CURRENCY)
    credit_policy = fields.String(required=True, validate=validate.OneOf(CREDIT_POLICIES))
    reason = fields.String(allow_none=True, validate=validate.Length(max=500))


class CustomerEraseSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ExportQuerySchema(StrictSchema):
    format = fields.String(load_default="jsonl", validate=validate.OneOf(EXPORT_FORMATS),
                           metadata={"description": "jsonl (application/x-ndjson) or csv."})


class LookupQuerySchema(StrictSchema):
    phone = fields.String(required=True, validate=validate.Length(min=3, max=40), metadata={
        "description": "Any written form of the number (spaces, dashes, +86, full width)."})


# --- output -------------------------------------------------------------------------------

class CustomerContactSchema(Schema):
    value = fields.String()
    label = fields.String(allow_none=True)
    is_primary = fields.Boolean()


class CustomerAddressSchema(Schema):
    type = fields.String()
    country = fields.String()
    province = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    district = fields.String(allow_none=True)
    street = fields.String(allow_none=True)
    postal_code = fields.String(allow_none=True)
    is_default = fields.Boolean()


class CustomerFinancialSchema(Schema):
    fiscal_year = fields.Integer()
    currency = fields.String()
    revenue = money_out(allow_none=True)
    net_profit = money_out(allow_none=True)
    total_assets = money_out(allow_none=True)


class CustomerRecordSchema(Schema):
    """The customer record (customer-record.v1)."""

    id = fields.String()
    number = fields.String()
    party_type = fields.String(validate=validate.OneOf(PARTY_TYPES))
    name = fields.String()
    status = fields.String(validate=validate.OneOf(STATUSES))
    tier = fields.String(allow_none=True)
    province = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    in_pool = fields.Boolean()
    owned_since = datetime_out(allow_none=True)
    last_follow_up_at = datetime_out(allow_none=True)
    tags = fields.List(fields.String())
    roles = fields.List(fields.String())
    phones = fields.List(fields.Nested(CustomerContactSchema))
    emails = fields.List(fields.Nested(CustomerContactSchema))
    addresses = fields.List(fields.Nested(CustomerAddressSchema))
    preferences = fields.Dict()
    marketing_consent = fields.Boolean()
    credit_limit = money_out(allow_none=True)
    credit_currency = fields.String()
    credit_policy = fields.String()
    gender = fields.String(allow_none=True)
    birth_date = date_out(allow_none=True)
    marital_status = fields.String(allow_none=True)
    industry = fields.String(allow_none=True)
    founded_on = date_out(allow_none=True)
    registered_capital = money_out(allow_none=True)
    registered_capital_currency = fields.String(allow_none=True)
    credit_code = fields.String(allow_none=True)
    financials = fields.List(fields.Nested(CustomerFinancialSchema))
    merged_into = fields.String(allow_none=True)
    erased = fields.Boolean()
    version = fields.Integer()
    created_at = datetime_out()
    updated_at = datetime_out()


class CustomerSummarySchema(Schema):
    """A search hit."""

    id = fields.String()
    number = fields.String()
    party_type = fields.String()
    name = fields.String()
    status = fields.String()
    tier = fields.String(allow_none=True)
    province = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    credit_code = fields.String(allow_none=True)
    version = fields.Integer()


class LikelyDuplicateSchema(Schema):
    number = fields.String()
    name = fields.String()
    score = fields.Float()
    reasons = fields.List(fields.String())


class DuplicateConflictSchema(Schema):
    field = fields.String(metadata={"description": "phones, emails or credit_code"})
    value = fields.String()
    existing_number = fields.String()


class CustomerCreatedSchema(Schema):
    customer = fields.Nested(CustomerRecordSchema)
    warnings = fields.List(fields.Nested(LikelyDuplicateSchema),
                           metadata={"description": "Likely duplicates: check before going on."})


class DuplicateCheckSchema(Schema):
    conflicts = fields.List(fields.Nested(DuplicateConflictSchema))
    likely = fields.List(fields.Nested(LikelyDuplicateSchema))


class MergeResultSchema(Schema):
    survivor = fields.Nested(CustomerRecordSchema)
    victim = fields.Nested(CustomerRecordSchema)


class CustomerRolesSchema(Schema):
    number = fields.String()
    roles = fields.List(fields.String())


class RelationshipSchema(Schema):
    id = fields.String()
    type = fields.String()
    name = fields.String()
    from_customer = fields.String()
    to_customer = fields.String()
    from_name = fields.String()
    to_name = fields.String()
    valid_from = date_out(allow_none=True)
    valid_to = date_out(allow_none=True)
    note = fields.String(allow_none=True)
    created_at = datetime_out()
    direction = fields.String(validate=validate.OneOf(("outgoing", "incoming")),
                              metadata={"description": "In lists only."})
    label = fields.String(metadata={"description": "In lists only."})


class GroupNodeSchema(Schema):
    id = fields.String()
    number = fields.String()
    name = fields.String()
    status = fields.String()
    children = fields.List(fields.Dict(), metadata={
        "description": "GroupNode objects (id, number, name, status, children)."})


class GroupTreeSchema(Schema):
    root = fields.Nested(GroupNodeSchema)
    size = fields.Integer()


class HistoryEntrySchema(Schema):
    id = fields.Integer()
    version = fields.Integer()
    action = fields.String()
    field = fields.String()
    old_value = fields.Raw(allow_none=True)
    new_value = fields.Raw(allow_none=True)
    actor_id = fields.String()
    request_id = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    changed_at = datetime_out()


class RoleTypeSchema(Schema):
    code = fields.String()
    label_en = fields.String()
    label_zh = fields.String()
    active = fields.Boolean()


class RelationshipTypeSchema(Schema):
    code = fields.String()
    name = fields.String()
    inverse_name = fields.String()
    inverse_code = fields.String(allow_none=True)
    name_zh = fields.String(allow_none=True)
    inverse_name_zh = fields.String(allow_none=True)
    from_party_types = fields.List(fields.String())
    to_party_types = fields.List(fields.String())
    hierarchical = fields.Boolean()


class PrivacyExportSchema(Schema):
    customer = fields.Nested(CustomerRecordSchema)
    relationships = fields.List(fields.Nested(RelationshipSchema))
    history = fields.List(fields.Nested(HistoryEntrySchema))
    consent = fields.Dict()
    erasure = fields.Dict(allow_none=True)


# --- Customer 360 -------------------------------------------------------------------------

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


class OwnerSectionSchema(_SectionSchema):
    owner_id = fields.String(allow_none=True)
    in_pool = fields.Boolean()
    owned_since = datetime_out(allow_none=True)
    last_follow_up_at = datetime_out(allow_none=True)


class RelationshipsSectionSchema(_SectionSchema):
    items = fields.List(fields.Nested(RelationshipSchema))


class Customer360OrderSchema(Schema):
    id = fields.String()
    number = fields.String()
    status = fields.String()
    owner_id = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    currency = fields.String()
    net = money_out()
    gross = money_out()
    margin = money_out()
    credit_outcome = fields.String(allow_none=True)
    ordered_at = datetime_out()
    version = fields.Integer()
    sold_to = fields.String()
    payer = fields.String()


class OpenOrdersSectionSchema(_SectionSchema):
    items = fields.List(fields.Nested(Customer360OrderSchema))
    total = fields.Integer(metadata={"description": "Open orders (on hold, confirmed, shipped, "
                                                    "invoiced); items shows the newest."})


class Customer360InvoiceSchema(Schema):
    id = fields.String()
    number = fields.String()
    owner_id = fields.String(allow_none=True)
    currency = fields.String()
    amount = money_out()
    paid_amount = money_out()
    outstanding = money_out()
    issue_date = date_out()
    terms_days = fields.Integer()
    due_date = date_out()
    status = fields.String()
    created_at = datetime_out()
    order = fields.String(allow_none=True)
    customer = fields.String()


class ReceivablesSectionSchema(_SectionSchema):
    items = fields.List(fields.Nested(Customer360InvoiceSchema))
    total = fields.Integer(metadata={"description": "Unpaid invoices (open, partially paid)."})
    outstanding = fields.Dict(keys=fields.String(), values=money_out(), metadata={
        "description": "Outstanding amount of the listed invoices by currency."})


class Customer360ActivitySchema(Schema):
    id = fields.String()
    kind = fields.String()
    customer_id = fields.String()
    owner_id = fields.String(allow_none=True)
    subject = fields.String()
    due_at = datetime_out(allow_none=True)
    done_at = datetime_out(allow_none=True)
    outcome = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    opportunity_id = fields.String(allow_none=True)
    visit_plan_id = fields.String(allow_none=True)
    created_at = datetime_out()


class ActivitiesSectionSchema(_SectionSchema):
    items = fields.List(fields.Nested(Customer360ActivitySchema))
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
