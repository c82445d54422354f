"""Marshmallow schemas: the customer service's wire contract (RPC in, RPC out, export).

Input schemas normalise contact points with the domain rules, so an error names
the exact field (``phones.1.value``) and the reason.
"""
from marshmallow import (EXCLUDE, RAISE, Schema, ValidationError, fields, post_load, validate,
                         validates, validates_schema)

from customer.domain import identifiers, lifecycle
from guanxi_common import contact

PARTY_TYPES = ("person", "company")
GENDERS = ("male", "female", "other", "unknown")
MARITAL_STATUSES = ("single", "married", "divorced", "widowed", "unknown")
ADDRESS_TYPES = ("registered", "office", "billing", "shipping", "home", "other")
CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="must be an ISO 4217 code such as CNY")
TAG = validate.Length(min=1, max=50)
PERSON_ONLY = ("gender", "birth_date", "marital_status")
COMPANY_ONLY = ("industry", "founded_on", "registered_capital", "registered_capital_currency",
                "credit_code", "financials")


def money(**kwargs):
    return fields.Decimal(as_string=True, places=2, validate=validate.Range(min=0), **kwargs)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class PhoneSchema(StrictSchema):
    value = fields.String(required=True, validate=validate.Length(min=3, max=40))
    label = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20))
    is_primary = fields.Boolean(load_default=False)

    @post_load
    def normalise(self, data, **kwargs):
        try:
            data["value"] = contact.normalize_phone(data["value"])
        except contact.InvalidContact as exc:
            raise ValidationError({"value": [exc.reason]}) from exc
        return data


class EmailSchema(StrictSchema):
    value = fields.String(required=True, validate=validate.Length(min=3, max=254))
    label = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20))
    is_primary = fields.Boolean(load_default=False)

    @post_load
    def normalise(self, data, **kwargs):
        try:
            data["value"] = contact.normalize_email(data["value"])
        except contact.InvalidContact as exc:
            raise ValidationError({"value": [exc.reason]}) from exc
        return data


class AddressSchema(StrictSchema):
    type = fields.String(required=True, validate=validate.OneOf(ADDRESS_TYPES))
    country = fields.String(load_default="CN", validate=validate.Regexp(r"^[A-Z]{2}$"))
    province = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    city = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    district = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    street = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    postal_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=12))
    is_default = fields.Boolean(load_default=False)


class FinancialSchema(StrictSchema):
    fiscal_year = fields.Integer(required=True, validate=validate.Range(min=1900, max=2200))
    currency = fields.String(load_default="CNY", validate=CURRENCY)
    revenue = fields.Decimal(as_string=True, places=2, allow_none=True, load_default=None)
    net_profit = fields.Decimal(as_string=True, places=2, allow_none=True, load_default=None)
    total_assets = fields.Decimal(as_string=True, places=2, allow_none=True, load_default=None)


class CustomerFields(StrictSchema):
    """Fields a client may set; create and update share them."""

    name = fields.String(validate=validate.Length(min=1, max=200))
    status = fields.String(validate=validate.OneOf(lifecycle.PUBLIC_STATUSES))
    tier = fields.String(allow_none=True, validate=validate.OneOf(lifecycle.TIERS))
    province = fields.String(allow_none=True, validate=validate.Length(max=40))
    city = fields.String(allow_none=True, validate=validate.Length(max=60))
    tags = fields.List(fields.String(validate=TAG), validate=validate.Length(max=50))
    phones = fields.List(fields.Nested(PhoneSchema), validate=validate.Length(max=20))
    emails = fields.List(fields.Nested(EmailSchema), validate=validate.Length(max=20))
    addresses = fields.List(fields.Nested(AddressSchema), validate=validate.Length(max=20))
    preferences = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=60)),
                              values=fields.Raw(allow_none=True))
    marketing_consent = fields.Boolean()
    credit_limit = money(allow_none=True)
    credit_currency = fields.String(validate=CURRENCY)
    credit_policy = fields.String(validate=validate.OneOf(lifecycle.CREDIT_POLICIES))
    gender = fields.String(allow_none=True, validate=validate.OneOf(GENDERS))
    birth_date = fields.Date(allow_none=True)
    marital_status = fields.String(allow_none=True, validate=validate.OneOf(MARITAL_STATUSES))
    industry = fields.String(allow_none=True, validate=validate.Length(max=80))
    founded_on = fields.Date(allow_none=True)
    registered_capital = money(allow_none=True)
    registered_capital_currency = fields.String(allow_none=True, validate=CURRENCY)
    credit_code = fields.String(allow_none=True)
    financials = fields.List(fields.Nested(FinancialSchema), validate=validate.Length(max=50))

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


class CustomerCreateSchema(CustomerFields):
    party_type = fields.String(required=True, validate=validate.OneOf(PARTY_TYPES))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    owner_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    roles = fields.List(fields.String(validate=validate.Length(min=1, max=30)), load_default=list)

    @validates_schema
    def party_fields(self, data, **kwargs):
        party = data.get("party_type")
        wrong = PERSON_ONLY if party == "company" else COMPANY_ONLY if party == "person" else ()
        errors = {f: [f"not allowed for a {party}"] for f in wrong if data.get(f) not in (None, [])}
        if errors:
            raise ValidationError(errors)


class CustomerUpdateSchema(CustomerFields):
    expected_version = fields.Integer(validate=validate.Range(min=1))


class SearchSchema(StrictSchema):
    q = fields.String(validate=validate.Length(min=1, max=100))
    name = fields.String(validate=validate.Length(min=1, max=100))
    number = fields.String(validate=validate.Length(max=16))
    phone = fields.String(validate=validate.Length(min=3, max=40))
    email = fields.String(validate=validate.Length(min=3, max=254))
    credit_code = fields.String(validate=validate.Length(max=30))
    role = fields.String(validate=validate.Length(max=30))
    status = fields.String(validate=validate.OneOf(lifecycle.STATUSES))
    party_type = fields.String(validate=validate.OneOf(PARTY_TYPES))
    province = fields.String(validate=validate.Length(max=40))
    city = fields.String(validate=validate.Length(max=60))
    owner_id = fields.String(validate=validate.Length(max=64))
    in_pool = fields.Boolean()
    tier = fields.String(validate=validate.OneOf(lifecycle.TIERS))
    tag = fields.String(validate=TAG)
    include_merged = fields.Boolean(load_default=False)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class CreditLimitSchema(StrictSchema):
    credit_limit = money(required=True, allow_none=True)
    credit_currency = fields.String(load_default="CNY", validate=CURRENCY)
    credit_policy = fields.String(required=True, validate=validate.OneOf(lifecycle.CREDIT_POLICIES))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class RelationshipCreateSchema(StrictSchema):
    type = fields.String(required=True, validate=validate.Length(min=1, max=30))
    from_customer = fields.String(required=True)
    to_customer = fields.String(required=True)
    valid_from = fields.Date(load_default=None, allow_none=True)
    valid_to = fields.Date(load_default=None, allow_none=True)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))

    @validates_schema
    def dates_in_order(self, data, **kwargs):
        if data.get("valid_from") and data.get("valid_to") and data["valid_to"] < data["valid_from"]:
            raise ValidationError({"valid_to": ["must not be before valid_from"]})


class RoleTypeSchema(StrictSchema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,29}$"))
    label_en = fields.String(required=True, validate=validate.Length(min=1, max=80))
    label_zh = fields.String(required=True, validate=validate.Length(min=1, max=80))


class RelationshipTypeSchema(StrictSchema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,29}$"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    inverse_name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    inverse_code = fields.String(load_default=None, allow_none=True,
                                 validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,29}$"))
    name_zh = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=80))
    inverse_name_zh = fields.String(load_default=None, allow_none=True,
                                    validate=validate.Length(max=80))
    from_party_types = fields.List(fields.String(validate=validate.OneOf(PARTY_TYPES)),
                                   required=True, validate=validate.Length(min=1))
    to_party_types = fields.List(fields.String(validate=validate.OneOf(PARTY_TYPES)),
                                 required=True, validate=validate.Length(min=1))
    hierarchical = fields.Boolean(load_default=False)


class FollowUpSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    customer = fields.String(required=True)
    occurred_at = fields.AwareDateTime(required=True, default_timezone=None)
    activity_id = fields.String(load_default=None, allow_none=True)
    user_id = fields.String(load_default=None, allow_none=True)


# ---- output -------------------------------------------------------------------------------

class ContactOut(Schema):
    value = fields.String()
    label = fields.String(allow_none=True)
    is_primary = fields.Boolean()


class AddressOut(Schema):
    type = fields.String()
    country = fields.String()
    province = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    district = fields.String(allow_none=True)
    street = fields.String(allow_none=True)
    postal_code = fields.String(allow_none=True)
    is_default = fields.Boolean()


class FinancialOut(Schema):
    fiscal_year = fields.Integer()
    currency = fields.String()
    revenue = fields.Decimal(as_string=True, allow_none=True)
    net_profit = fields.Decimal(as_string=True, allow_none=True)
    total_assets = fields.Decimal(as_string=True, allow_none=True)


class CustomerOut(Schema):
    """The customer record, version 1 (also the export format; see customer-record.v1.json)."""

    id = fields.String()
    number = fields.String()
    party_type = fields.String()
    name = fields.String()
    status = fields.String()
    tier = fields.String(allow_none=True)
    province = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    in_pool = fields.Method("get_in_pool")
    owned_since = fields.DateTime(allow_none=True)
    last_follow_up_at = fields.DateTime(allow_none=True)
    tags = fields.Method("get_tags")
    roles = fields.Method("get_roles")
    phones = fields.Method("get_phones")
    emails = fields.Method("get_emails")
    addresses = fields.List(fields.Nested(AddressOut))
    preferences = fields.Dict()
    marketing_consent = fields.Boolean()
    credit_limit = fields.Decimal(as_string=True, allow_none=True)
    credit_currency = fields.String()
    credit_policy = fields.String()
    gender = fields.String(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    marital_status = fields.String(allow_none=True)
    industry = fields.String(allow_none=True)
    founded_on = fields.Date(allow_none=True)
    registered_capital = fields.Decimal(as_string=True, allow_none=True)
    registered_capital_currency = fields.String(allow_none=True)
    credit_code = fields.String(allow_none=True)
    financials = fields.List(fields.Nested(FinancialOut))
    merged_into = fields.Method("get_merged_into")
    erased = fields.Method("get_erased")
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()

    def get_in_pool(self, obj):
        return obj.owner_id is None and obj.status not in ("merged", "erased")

    def get_tags(self, obj):
        return sorted(t.tag for t in obj.tags)

    def get_roles(self, obj):
        return sorted(r.role_code for r in obj.roles)

    def get_phones(self, obj):
        return ContactOut(many=True).dump([c for c in obj.contact_points if c.kind == "phone"])

    def get_emails(self, obj):
        return ContactOut(many=True).dump([c for c in obj.contact_points if c.kind == "email"])

    def get_merged_into(self, obj):
        return obj.merged_into.number if obj.merged_into_id else None

    def get_erased(self, obj):
        return obj.erased_at is not None


class CustomerSummaryOut(Schema):
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


class RelationshipOut(Schema):
    id = fields.String()
    type = fields.String(attribute="type_code")
    name = fields.Method("get_name")
    from_customer = fields.Function(lambda r: r.from_customer.number)
    to_customer = fields.Function(lambda r: r.to_customer.number)
    from_name = fields.Function(lambda r: r.from_customer.name)
    to_name = fields.Function(lambda r: r.to_customer.name)
    valid_from = fields.Date(allow_none=True)
    valid_to = fields.Date(allow_none=True)
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()

    def get_name(self, obj):
        return obj.type.name


class HistoryOut(Schema):
    id = fields.Integer()
    version = fields.Integer()
    action = fields.String()
    field = fields.String()
    old_value = fields.Raw(allow_none=True)
    new_value = fields.Raw(allow_none=True)
    actor_id = fields.String()
    request_id = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    changed_at = fields.DateTime()
