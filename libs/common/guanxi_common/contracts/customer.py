"""The customer service's wire contract: RPC inputs and answers, the customer record, the
event payloads it publishes and the one it consumes.

Inputs normalise contact points and credit codes with the shared rules, so an error names
the exact field (``phones.1.value``) and the reason. Answers dump plain dicts (the service
builds them from its rows) and pass through values that already crossed RPC as JSON, so
the gateway dumps the same schemas. The customer record JSON Schema
(``customer-record.v1``) is generated from :class:`CustomerRecordSchema`
(:func:`customer_record_json_schema`), never kept by hand.
"""
from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate, validates, \
    validates_schema

from guanxi_common import contact, identifiers
from guanxi_common.contracts.enums import (ADDRESS_TYPES, CREDIT_POLICIES, CUSTOMER_STATUSES,
                                           CUSTOMER_TIERS, EXPORT_FORMATS, GENDERS,
                                           MARITAL_STATUSES, PARTY_TYPES, PUBLIC_CUSTOMER_STATUSES)
from guanxi_common.contracts.fields import (CURRENCY, FIGURE_DIGITS, VERSION_MAX, JsonObject,
                                            StrictSchema, WireDate, WireDateTime, aware,
                                            currency_places, figure_in, money_in, money_out,
                                            name_text, page_schema)

TAG = validate.Length(min=1, max=50)
CODE = validate.Regexp(r"^[a-z][a-z0-9_]{1,29}$")
CUSTOMER_REF = validate.Length(min=1, max=40)
UUID = [validate.Length(equal=36), validate.Regexp(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", error="must be a UUID")]
#: a customer number as issued (the column holds 16 characters)
CUSTOMER_NUMBER = [validate.Length(min=9, max=16), validate.Regexp(
    identifiers.CUSTOMER_NUMBER_PATTERN, error="must be a customer number such as C00001234")]
CREDIT_CODE = validate.Regexp(identifiers.CREDIT_CODE_PATTERN,
                              error="must be a unified social credit code")
E164 = validate.Regexp(r"^\+[1-9][0-9]{6,14}$", error="must be E.164 (+8613812345678)")
PERSON_ONLY = ("gender", "birth_date", "marital_status")
COMPANY_ONLY = ("industry", "founded_on", "registered_capital", "registered_capital_currency",
                "credit_code", "financials")
#: search hits are counted exactly up to this many; beyond it the answer says "more than"
SEARCH_COUNT_CAP = 1_000
SEARCH_PAGE_SIZE_MAX = 100
HISTORY_PAGE_SIZE_MAX = 500
EXPORT_BATCH_MAX = 5000
#: the JSON Lines export format version (``_format`` of each line)
EXPORT_FORMAT_VERSION = 1
#: bounds of the plain arguments of the RPC methods (a reason, a role code, an owner)
REASON_MAX = 500
ROLE_CODE_MAX = 30
OWNER_ID_MAX = 64
#: the most roles a new customer is given at once
ROLES_MAX = 20


def _required(**kwargs):
    """A field of an answer: always present (so a consumer may rely on it)."""
    return {"required": True, **kwargs}


# ---- input --------------------------------------------------------------------------------

class _ContactPointInSchema(StrictSchema):
    """A phone or an e-mail address: its ``value`` is normalised on load by ``normalize``
    (a ``guanxi_common.contact`` function), a refusal reported on ``value``."""

    normalize = None
    label = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20))
    is_primary = fields.Boolean(load_default=False)

    @post_load
    def normalise(self, data, **kwargs):
        try:
            data["value"] = self.normalize(data["value"])
        except contact.InvalidContact as exc:
            raise ValidationError({"value": [exc.reason]}) from exc
        return data


class PhoneInSchema(_ContactPointInSchema):
    normalize = staticmethod(contact.normalize_phone)
    value = fields.String(required=True, validate=validate.Length(min=3, max=40), metadata={
        "description": "Any written form: '138 1234 5678', '+86-138-1234-5678', '0755-2878 0808'."})


class EmailInSchema(_ContactPointInSchema):
    normalize = staticmethod(contact.normalize_email)
    value = fields.String(required=True, validate=validate.Length(min=3, max=254))


class AddressInSchema(StrictSchema):
    type = fields.String(required=True, validate=validate.OneOf(ADDRESS_TYPES))
    country = fields.String(load_default="CN", validate=validate.Regexp(r"^[A-Z]{2}$"))
    province = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    city = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    district = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    street = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    postal_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=12))
    is_default = fields.Boolean(load_default=False)


class FinancialInSchema(StrictSchema):
    fiscal_year = fields.Integer(required=True, validate=validate.Range(min=1900, max=2200))
    currency = fields.String(load_default="CNY", validate=CURRENCY)
    revenue = figure_in(allow_none=True, load_default=None, padded=True)
    net_profit = figure_in(allow_none=True, load_default=None, padded=True)
    total_assets = figure_in(allow_none=True, load_default=None, padded=True)

    check_places = currency_places("revenue", "net_profit", "total_assets")


class CustomerFieldsSchema(StrictSchema):
    """Fields a client may set; create and update share them."""

    name = name_text(200)
    status = fields.String(validate=validate.OneOf(PUBLIC_CUSTOMER_STATUSES))
    tier = fields.String(allow_none=True, validate=validate.OneOf(CUSTOMER_TIERS))
    province = fields.String(allow_none=True, validate=validate.Length(max=40))
    city = fields.String(allow_none=True, validate=validate.Length(max=60))
    tags = fields.List(fields.String(validate=TAG), validate=validate.Length(max=50))
    phones = fields.List(fields.Nested(PhoneInSchema), validate=validate.Length(max=20))
    emails = fields.List(fields.Nested(EmailInSchema), validate=validate.Length(max=20))
    addresses = fields.List(fields.Nested(AddressInSchema), validate=validate.Length(max=20))
    preferences = JsonObject(key_max=60)
    marketing_consent = fields.Boolean()
    credit_limit = money_in(allow_none=True, padded=True,
                            metadata={"description": "Needs credit_manager."})
    credit_currency = fields.String(validate=CURRENCY)
    credit_policy = fields.String(validate=validate.OneOf(CREDIT_POLICIES),
                                  metadata={"description": "Needs credit_manager."})
    gender = fields.String(allow_none=True, validate=validate.OneOf(GENDERS))
    birth_date = fields.Date(allow_none=True)
    marital_status = fields.String(allow_none=True, validate=validate.OneOf(MARITAL_STATUSES))
    industry = fields.String(allow_none=True, validate=validate.Length(max=80))
    founded_on = fields.Date(allow_none=True)
    registered_capital = money_in(allow_none=True, integer_digits=FIGURE_DIGITS, padded=True)
    registered_capital_currency = fields.String(allow_none=True, validate=CURRENCY)
    credit_code = fields.String(allow_none=True, validate=validate.Length(max=30), metadata={
        "description": "Unified social credit code (18 characters, checksum-valid)."})
    financials = fields.List(fields.Nested(FinancialInSchema), validate=validate.Length(max=50))

    check_credit_places = currency_places("credit_limit", currency="credit_currency")
    check_capital_places = currency_places("registered_capital",
                                           currency="registered_capital_currency")

    @validates("credit_code")
    def check_credit_code(self, value, **kwargs):
        reasons = identifiers.validate_credit_code(identifiers.normalize_credit_code(value or ""))
        if value and reasons:
            raise ValidationError(reasons)

    @post_load
    def normalise_credit_code(self, data, **kwargs):
        if data.get("credit_code"):
            data["credit_code"] = identifiers.normalize_credit_code(data["credit_code"])
        return data


class CustomerCreateSchema(CustomerFieldsSchema):
    """A new customer (person fields for persons, company fields for companies)."""

    party_type = fields.String(required=True, validate=validate.OneOf(PARTY_TYPES))
    name = name_text(200, required=True)
    owner_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64),
                             metadata={"description": "Null: the pool. A sales rep always "
                                                      "becomes the owner."})
    roles = fields.List(fields.String(validate=validate.Length(min=1, max=ROLE_CODE_MAX)),
                        load_default=list, validate=validate.Length(max=ROLES_MAX))

    @validates_schema
    def party_fields(self, data, **kwargs):
        party = data.get("party_type")
        wrong = PERSON_ONLY if party == "company" else COMPANY_ONLY if party == "person" else ()
        errors = {f: [f"not allowed for a {party}"] for f in wrong if data.get(f) not in (None, [])}
        if errors:
            raise ValidationError(errors)


class CustomerUpdateSchema(CustomerFieldsSchema):
    """Only the fields given change (load it partial at the top level); lists given replace
    the stored ones."""

    expected_version = fields.Integer(validate=validate.Range(min=1, max=VERSION_MAX), metadata={
        "description": "Optimistic lock: refused with a conflict when the customer is newer."})


#: fields an update may carry, for ``load(..., partial=UPDATABLE)``: partial at the top
#: level only, so a phone in the list still needs its value
UPDATABLE = tuple(CustomerUpdateSchema().fields)


class CustomerCriteriaSchema(StrictSchema):
    """What a search filters on; every criterion given must match."""

    q = fields.String(validate=validate.Length(min=1, max=100), metadata={
        "description": "One search box: a number, an e-mail, a credit code, a phone or a name."})
    name = fields.String(validate=validate.Length(min=1, max=100))
    number = fields.String(validate=validate.Length(min=1, max=16))
    phone = fields.String(validate=validate.Length(min=3, max=40))
    email = fields.String(validate=validate.Length(min=3, max=254))
    credit_code = fields.String(validate=validate.Length(min=1, max=30))
    role = fields.String(validate=validate.Length(min=1, max=30))
    status = fields.String(validate=validate.OneOf(CUSTOMER_STATUSES))
    party_type = fields.String(validate=validate.OneOf(PARTY_TYPES))
    province = fields.String(validate=validate.Length(min=1, max=40))
    city = fields.String(validate=validate.Length(min=1, max=60))
    owner_id = fields.String(validate=validate.Length(min=1, max=64))
    in_pool = fields.Boolean()
    tier = fields.String(validate=validate.OneOf(CUSTOMER_TIERS))
    tag = fields.String(validate=TAG)
    include_merged = fields.Boolean(metadata={"description": "Default: false."})


class SearchSchema(CustomerCriteriaSchema,
                   page_schema(default_size=20, max_size=SEARCH_PAGE_SIZE_MAX)):
    """The ``search`` RPC's criteria: the filters and the page."""

    include_merged = fields.Boolean(load_default=False)


class CreditLimitSchema(StrictSchema):
    credit_limit = money_in(required=True, allow_none=True, padded=True)
    credit_currency = fields.String(load_default="CNY", validate=CURRENCY)
    credit_policy = fields.String(required=True, validate=validate.OneOf(CREDIT_POLICIES))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))

    check_places = currency_places("credit_limit", currency="credit_currency")


class RelationshipCreateSchema(StrictSchema):
    type = fields.String(required=True, validate=validate.Length(min=1, max=30), metadata={
        "description": "A code or inverse code of the relationship types."})
    from_customer = fields.String(required=True, validate=CUSTOMER_REF)
    to_customer = fields.String(required=True, validate=CUSTOMER_REF)
    valid_from = fields.Date(load_default=None, allow_none=True)
    valid_to = fields.Date(load_default=None, allow_none=True)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))

    @validates_schema
    def dates_in_order(self, data, **kwargs):
        if data.get("valid_from") and data.get("valid_to") and data["valid_to"] < data["valid_from"]:
            raise ValidationError({"valid_to": ["must not be before valid_from"]})


class RoleTypeDefinitionSchema(StrictSchema):
    code = fields.String(required=True, validate=CODE)
    label_en = name_text(80, required=True)
    label_zh = name_text(80, required=True)


class RelationshipTypeDefinitionSchema(StrictSchema):
    code = fields.String(required=True, validate=CODE)
    name = name_text(80, required=True)
    inverse_name = name_text(80, required=True)
    inverse_code = fields.String(load_default=None, allow_none=True, validate=CODE)
    name_zh = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=80))
    inverse_name_zh = fields.String(load_default=None, allow_none=True,
                                    validate=validate.Length(max=80))
    from_party_types = fields.List(fields.String(validate=validate.OneOf(PARTY_TYPES)),
                                   required=True, validate=validate.Length(min=1))
    to_party_types = fields.List(fields.String(validate=validate.OneOf(PARTY_TYPES)),
                                 required=True, validate=validate.Length(min=1))
    hierarchical = fields.Boolean(load_default=False)


class MergeRequestSchema(StrictSchema):
    """``merge``: the customer merged into the survivor (which the caller names apart)."""

    victim = fields.String(required=True, validate=CUSTOMER_REF, metadata={
        "description": "The customer merged into the survivor."})
    reason = fields.String(allow_none=True, validate=validate.Length(max=REASON_MAX))


class RoleRequestSchema(StrictSchema):
    role = fields.String(required=True, validate=validate.Length(min=1, max=ROLE_CODE_MAX),
                         metadata={"description": "A code of the role types."})


class RelationshipEndSchema(StrictSchema):
    valid_to = fields.Date(allow_none=True, metadata={"description": "Default: today."})


class RelationshipsCriteriaSchema(StrictSchema):
    include_ended = fields.Boolean(load_default=False)


class ReleaseRequestSchema(StrictSchema):
    reason = fields.String(allow_none=True, validate=validate.Length(min=1, max=REASON_MAX))


class AssignRequestSchema(StrictSchema):
    owner_id = fields.String(required=True, allow_none=True,
                             validate=validate.Length(min=1, max=OWNER_ID_MAX),
                             metadata={"description": "Null returns the customer to the pool."})


class EraseRequestSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=REASON_MAX))


class ExportCriteriaSchema(StrictSchema):
    format = fields.String(load_default="jsonl", validate=validate.OneOf(EXPORT_FORMATS),
                           metadata={"description": "jsonl (JSON Lines) or csv."})
    bom = fields.Boolean(load_default=False, metadata={
        "description": "csv only: start with the UTF-8 byte order mark, so that Excel reads "
                       "Chinese text right."})


class PhoneLookupSchema(StrictSchema):
    phone = fields.String(required=True, validate=validate.Length(min=3, max=40), metadata={
        "description": "Any written form of the number (spaces, dashes, +86, full width)."})


class FollowUpSchema(Schema):
    """The ``record_follow_up`` RPC: a customer (number or id) was followed up at a time."""

    class Meta:
        unknown = EXCLUDE

    customer = fields.String(required=True)
    occurred_at = fields.AwareDateTime(required=True, default_timezone=None)
    activity_id = fields.String(load_default=None, allow_none=True)
    user_id = fields.String(load_default=None, allow_none=True)


# ---- answers ------------------------------------------------------------------------------

class ContactSchema(StrictSchema):
    value = fields.String(required=True)
    label = fields.String(allow_none=True)
    is_primary = fields.Boolean()


class PhoneSchema(ContactSchema):
    value = fields.String(required=True, validate=E164)


class AddressSchema(StrictSchema):
    type = fields.String(required=True, validate=validate.OneOf(ADDRESS_TYPES))
    country = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{2}$"))
    province = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    district = fields.String(allow_none=True)
    street = fields.String(allow_none=True)
    postal_code = fields.String(allow_none=True)
    is_default = fields.Boolean()


class FinancialSchema(StrictSchema):
    fiscal_year = fields.Integer(required=True)
    currency = fields.String(required=True, validate=CURRENCY)
    revenue = money_out(allow_none=True)
    net_profit = money_out(allow_none=True)
    total_assets = money_out(allow_none=True)


class CustomerRecordSchema(StrictSchema):
    """The customer record, version 1: what ``get`` answers, what ``customer.created`` and
    ``customer.updated`` carry and what the export writes. Every field is always present."""

    id = fields.String(**_required(validate=UUID, metadata={"format": "uuid"}))
    number = fields.String(**_required(validate=CUSTOMER_NUMBER))
    party_type = fields.String(**_required(validate=validate.OneOf(PARTY_TYPES)))
    name = fields.String(**_required(validate=validate.Length(min=1, max=200)))
    status = fields.String(**_required(validate=validate.OneOf(CUSTOMER_STATUSES)))
    tier = fields.String(**_required(allow_none=True, validate=validate.OneOf(CUSTOMER_TIERS)))
    province = fields.String(**_required(allow_none=True, validate=validate.Length(max=40)))
    city = fields.String(**_required(allow_none=True, validate=validate.Length(max=60)))
    owner_id = fields.String(**_required(allow_none=True,
                                         validate=validate.Length(max=OWNER_ID_MAX)))
    in_pool = fields.Boolean(**_required())
    owned_since = WireDateTime(**_required(allow_none=True))
    last_follow_up_at = WireDateTime(**_required(allow_none=True))
    tags = fields.List(fields.String(), **_required())
    roles = fields.List(fields.String(validate=validate.Length(min=1, max=ROLE_CODE_MAX)),
                        **_required())
    phones = fields.List(fields.Nested(PhoneSchema), **_required())
    emails = fields.List(fields.Nested(ContactSchema), **_required())
    addresses = fields.List(fields.Nested(AddressSchema), **_required())
    preferences = fields.Dict(**_required())
    marketing_consent = fields.Boolean(**_required())
    credit_limit = money_out(**_required(allow_none=True))
    credit_currency = fields.String(**_required(validate=[validate.Length(equal=3), CURRENCY]))
    credit_policy = fields.String(**_required(validate=validate.OneOf(CREDIT_POLICIES)))
    gender = fields.String(**_required(allow_none=True))
    birth_date = WireDate(**_required(allow_none=True))
    marital_status = fields.String(**_required(allow_none=True))
    industry = fields.String(**_required(allow_none=True))
    founded_on = WireDate(**_required(allow_none=True))
    registered_capital = money_out(**_required(allow_none=True))
    registered_capital_currency = fields.String(**_required(allow_none=True))
    credit_code = fields.String(**_required(allow_none=True, validate=CREDIT_CODE))
    financials = fields.List(fields.Nested(FinancialSchema), **_required())
    merged_into = fields.String(**_required(allow_none=True, validate=CUSTOMER_NUMBER, metadata={
        "description": "The survivor's number when this customer was merged into another."}))
    erased = fields.Boolean(**_required())
    version = fields.Integer(**_required(validate=validate.Range(min=1)))
    created_at = WireDateTime(**_required())
    updated_at = WireDateTime(**_required())


class CustomerExportLineSchema(CustomerRecordSchema):
    """A line of the JSON Lines export: the record and the export format version."""

    format_version = fields.Integer(
        data_key="_format", validate=validate.Equal(EXPORT_FORMAT_VERSION),
        metadata={"description": "export format version (JSON Lines export only)"})


class CustomerSummarySchema(StrictSchema):
    """A search hit: enough for a result list without loading every child row."""

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


class SearchPageSchema(StrictSchema):
    items = fields.List(fields.Nested(CustomerSummarySchema))
    total = fields.Integer(metadata={"description": f"Exact up to {SEARCH_COUNT_CAP}."})
    total_exact = fields.Boolean()
    page = fields.Integer()
    page_size = fields.Integer()


class LikelyDuplicateSchema(StrictSchema):
    number = fields.String()
    name = fields.String()
    score = fields.Float()
    reasons = fields.List(fields.String())


class DuplicateConflictSchema(StrictSchema):
    field = fields.String(metadata={"description": "phones, emails or credit_code"})
    value = fields.String()
    existing_number = fields.String()


class CustomerCreatedSchema(StrictSchema):
    """The ``create`` answer."""

    customer = fields.Nested(CustomerRecordSchema)
    warnings = fields.List(fields.Nested(LikelyDuplicateSchema),
                           metadata={"description": "Likely duplicates: check before going on."})


class DuplicateCheckSchema(StrictSchema):
    conflicts = fields.List(fields.Nested(DuplicateConflictSchema))
    likely = fields.List(fields.Nested(LikelyDuplicateSchema))


class MergeResultSchema(StrictSchema):
    survivor = fields.Nested(CustomerRecordSchema)
    victim = fields.Nested(CustomerRecordSchema)


class RelationshipSchema(StrictSchema):
    id = fields.String()
    type = fields.String()
    name = fields.String()
    from_customer = fields.String()
    to_customer = fields.String()
    from_name = fields.String()
    to_name = fields.String()
    valid_from = WireDate(allow_none=True)
    valid_to = WireDate(allow_none=True)
    note = fields.String(allow_none=True)
    created_at = WireDateTime()


class RelationshipListItemSchema(RelationshipSchema):
    """A relationship as seen from one of its customers (the ``relationships`` RPC)."""

    direction = fields.String(validate=validate.OneOf(("outgoing", "incoming")))
    label = fields.String(metadata={"description": "The type's name, or its inverse name "
                                                   "when the relationship is incoming."})


class HistoryEntrySchema(StrictSchema):
    id = fields.Integer()
    version = fields.Integer()
    action = fields.String()
    field = fields.String()
    old_value = fields.Raw(allow_none=True)
    new_value = fields.Raw(allow_none=True)
    actor_id = fields.String()
    request_id = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    changed_at = WireDateTime()


class HistoryPageSchema(StrictSchema):
    customer = fields.String()
    items = fields.List(fields.Nested(HistoryEntrySchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class RoleTypeSchema(StrictSchema):
    code = fields.String()
    label_en = fields.String()
    label_zh = fields.String()
    active = fields.Boolean()


class RelationshipTypeSchema(StrictSchema):
    code = fields.String()
    name = fields.String()
    inverse_name = fields.String()
    inverse_code = fields.String(allow_none=True)
    name_zh = fields.String(allow_none=True)
    inverse_name_zh = fields.String(allow_none=True)
    from_party_types = fields.List(fields.String())
    to_party_types = fields.List(fields.String())
    hierarchical = fields.Boolean()


class GroupNodeSchema(StrictSchema):
    id = fields.String()
    number = fields.String()
    name = fields.String()
    status = fields.String()
    children = fields.List(fields.Dict(), metadata={
        "description": "GroupNode objects (id, number, name, status, children)."})


class GroupTreeSchema(StrictSchema):
    root = fields.Nested(GroupNodeSchema)
    size = fields.Integer()


class FollowUpRecordedSchema(StrictSchema):
    number = fields.String()
    last_follow_up_at = WireDateTime(allow_none=True)


class PrivacyExportSchema(StrictSchema):
    customer = fields.Nested(CustomerRecordSchema)
    relationships = fields.List(fields.Nested(RelationshipListItemSchema))
    history = fields.List(fields.Nested(HistoryEntrySchema))
    consent = fields.Dict()
    erasure = fields.Dict(allow_none=True)


# ---- events published (``data`` of the envelope), version 1 -------------------------------

class CustomerRefSchema(StrictSchema):
    id = fields.String(required=True, validate=UUID)
    number = fields.String(required=True, validate=CUSTOMER_NUMBER)


class CustomerCreatedV1(StrictSchema):
    """``customer.created``: the new record."""

    customer = fields.Nested(CustomerRecordSchema, required=True)


class CustomerUpdatedV1(StrictSchema):
    """``customer.updated``: the record after the change and the top-level fields that
    changed (``relationships`` for a relationship change, which the record does not hold)."""

    changed_fields = fields.List(fields.String(validate=validate.Length(min=1)), required=True,
                                 validate=validate.Length(min=1))
    customer = fields.Nested(CustomerRecordSchema, required=True)


class CustomerOwnerChangedV1(StrictSchema):
    """``customer.owner_changed``: same version as the ``customer.updated`` of the change."""

    old_owner_id = fields.String(required=True, allow_none=True,
                                 validate=validate.Length(max=OWNER_ID_MAX))
    new_owner_id = fields.String(required=True, allow_none=True,
                                 validate=validate.Length(max=OWNER_ID_MAX))
    reason = fields.String(required=True, validate=validate.OneOf(
        ("claimed", "released", "assigned", "no_follow_up")))
    note = fields.String(required=True, allow_none=True)


class CustomerMergedV1(StrictSchema):
    """``customer.merged``: on the survivor; the victim's own ``customer.updated`` says
    ``merged_into``."""

    survivor = fields.Nested(CustomerRefSchema, required=True)
    victim = fields.Nested(CustomerRefSchema, required=True)
    relationships_moved = fields.Integer(required=True, validate=validate.Range(min=0))
    reason = fields.String(required=True, allow_none=True)


class CustomerErasedV1(StrictSchema):
    """``customer.erased``: a person's personal data is gone; drop every copy of it."""

    customer = fields.Nested(CustomerRefSchema, required=True)
    reason = fields.String(required=True)


#: event type -> schema_version -> the schema of its ``data``
PUBLISHED_EVENTS = {
    "customer.created": {1: CustomerCreatedV1},
    "customer.updated": {1: CustomerUpdatedV1},
    "customer.owner_changed": {1: CustomerOwnerChangedV1},
    "customer.merged": {1: CustomerMergedV1},
    "customer.erased": {1: CustomerErasedV1},
}


# ---- events consumed ------------------------------------------------------------------------

class ActivityLoggedIn(Schema):
    """What the customer service reads of sales' ``activity.logged`` (version 1): the
    customer's id and when the activity was done. The other keys sales sends (kind, outcome,
    ...) are not ours to check."""

    class Meta:
        unknown = EXCLUDE

    customer_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    occurred_at = aware(required=True)
    activity_id = fields.String(load_default=None, allow_none=True)
    user_id = fields.String(load_default=None, allow_none=True)


#: (source service, event type) -> schema_version -> the schema the customer service reads
CONSUMED_EVENTS = {("sales", "activity.logged"): {1: ActivityLoggedIn}}


def customer_record_json_schema():
    """The JSON Schema (2020-12) of a customer record and of an export line
    (``customer-record.v1``), generated from :class:`CustomerExportLineSchema`."""
    from guanxi_common.contracts.json_schema import json_schema

    return json_schema(
        CustomerExportLineSchema,
        schema_id="https://guanxi.example/schemas/customer-record.v1.json",
        title="Guanxi customer record, version 1",
        description="One customer as returned by customer.get and written by the export "
                    "(JSON Lines: one record per line with _format=1; CSV: the flat columns "
                    "documented in docs/rpc/customer.md). Money is a decimal string, times "
                    "are UTC ISO 8601.")
