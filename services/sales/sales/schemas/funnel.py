"""Wire contract of the funnel: products, pipeline stages, opportunities, quotes, activities.

Input schemas refuse unknown fields and name the field of each error; money is a decimal
string with at most 2 places (a third place is an error, never rounded away), rates are
fractions (13 % = 0.13), times are ISO 8601 with an offset (naive times are refused).
Output schemas dump money as strings and times as UTC ISO 8601.
"""
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from sales.domain.activities import KINDS, OUTCOMES
from sales.quotes import effective_status
from guanxi_common.contracts.fields import CURRENCY, StrictSchema, aware, fraction_in, money_in, places

OPPORTUNITY_STATUSES = ("open", "won", "lost")
QUOTE_STATUSES = ("draft", "sent", "accepted", "rejected", "expired")


class PageSchema(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


# ---- products -------------------------------------------------------------------------------

class ProductFields(StrictSchema):
    sku = fields.String(validate=validate.Length(min=1, max=40))
    name = fields.String(validate=validate.Length(min=1, max=200))
    unit = fields.String(validate=validate.Length(min=1, max=20))
    currency = fields.String(validate=CURRENCY)
    list_price = money_in()
    unit_cost = money_in(allow_none=True)
    tax_rate = fraction_in()
    active = fields.Boolean()


class ProductCreateSchema(ProductFields):
    sku = fields.String(required=True, validate=validate.Length(min=1, max=40))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    unit = fields.String(load_default="pcs", validate=validate.Length(min=1, max=20))
    currency = fields.String(load_default="CNY", validate=CURRENCY)
    list_price = money_in(required=True)
    unit_cost = money_in(load_default=None, allow_none=True)
    tax_rate = fraction_in(load_default=Decimal("0.13"))
    active = fields.Boolean(load_default=True)


class ProductUpdateSchema(ProductFields):
    """Every field optional (loaded with ``partial=True``)."""


class ProductSearchSchema(PageSchema):
    q = fields.String(validate=validate.Length(min=1, max=100))
    active = fields.Boolean(load_default=True, allow_none=True)  # None: active and inactive


class ProductOut(Schema):
    id = fields.String()
    sku = fields.String()
    name = fields.String()
    unit = fields.String()
    currency = fields.String()
    list_price = fields.Decimal(as_string=True, places=2)
    unit_cost = fields.Decimal(as_string=True, places=2, allow_none=True)
    tax_rate = fields.Decimal(as_string=True)
    active = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


# ---- pipeline -------------------------------------------------------------------------------

class StageSchema(StrictSchema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,29}$",
                                                                 error="lower-case letters, digits, _"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    position = fields.Integer(required=True, validate=validate.Range(min=0, max=100_000))
    probability = fields.Decimal(as_string=True, required=True, allow_nan=False,
                                 validate=[validate.Range(min=0, max=1), places(4)])
    is_won = fields.Boolean(load_default=False)
    is_lost = fields.Boolean(load_default=False)


class StageOut(Schema):
    code = fields.String()
    name = fields.String()
    position = fields.Integer()
    probability = fields.Decimal(as_string=True)
    is_won = fields.Boolean()
    is_lost = fields.Boolean()


# ---- opportunities --------------------------------------------------------------------------

class OpportunityCreateSchema(StrictSchema):
    customer = fields.String(required=True, validate=validate.Length(min=1, max=36))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    amount = money_in(required=True)
    currency = fields.String(load_default="CNY", validate=CURRENCY)
    expected_close = fields.Date(load_default=None, allow_none=True)
    owner_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    source_campaign_id = fields.String(load_default=None, allow_none=True,
                                       validate=validate.Length(min=1, max=36))
    source_text = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class OpportunitySearchSchema(PageSchema):
    owner_id = fields.String(validate=validate.Length(min=1, max=64))
    stage = fields.String(validate=validate.Length(min=1, max=30))
    status = fields.String(validate=validate.OneOf(OPPORTUNITY_STATUSES))
    customer = fields.String(validate=validate.Length(min=1, max=36))
    region = fields.String(validate=validate.Length(min=1, max=40))


class StageChangeOut(Schema):
    stage = fields.String(attribute="stage_code")
    entered_at = fields.DateTime()
    actor_id = fields.String()


class OpportunityOut(Schema):
    id = fields.String()
    number = fields.String()
    customer_id = fields.String()
    owner_id = fields.String()
    title = fields.String()
    amount = fields.Decimal(as_string=True, places=2)
    currency = fields.String()
    expected_close = fields.Date(allow_none=True)
    source_campaign_id = fields.String(allow_none=True)
    source_text = fields.String(allow_none=True)
    stage = fields.String(attribute="stage_code")
    status = fields.String()
    lost_reason = fields.String(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    region = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    stage_history = fields.List(fields.Nested(StageChangeOut))


class OpportunitySummaryOut(OpportunityOut):
    class Meta:
        exclude = ("stage_history",)


# ---- quotes ---------------------------------------------------------------------------------

class QuoteLineSchema(StrictSchema):
    product = fields.String(required=True, validate=validate.Length(min=1, max=40))  # SKU or id
    quantity = fields.Decimal(as_string=True, required=True, allow_nan=False,
                              validate=[validate.Range(min=0, min_inclusive=False), places(3)])
    unit_price = money_in(load_default=None, allow_none=True)  # default: the list price
    discount = fraction_in(load_default=Decimal("0"))
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class QuotePartnersIn(StrictSchema):
    """Who receives, is billed for and pays the order of an accepted quote (customer refs)."""

    ship_to = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))
    bill_to = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))
    payer = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))


class QuoteCreateSchema(StrictSchema):
    customer = fields.String(required=True, validate=validate.Length(min=1, max=36))
    opportunity = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=36))
    currency = fields.String(load_default="CNY", validate=CURRENCY)
    valid_until = fields.Date(load_default=None, allow_none=True)  # default: 30 days from today
    lines = fields.List(fields.Nested(QuoteLineSchema), required=True,
                        validate=validate.Length(min=1, max=500))


class QuoteLineOut(Schema):
    position = fields.Integer()
    product_id = fields.String()
    sku = fields.String()
    description = fields.String()
    quantity = fields.Decimal(as_string=True)
    unit_price = fields.Decimal(as_string=True, places=2)
    discount = fields.Decimal(as_string=True)
    tax_rate = fields.Decimal(as_string=True)
    net = fields.Decimal(as_string=True, places=2)
    tax = fields.Decimal(as_string=True, places=2)
    gross = fields.Decimal(as_string=True, places=2)


class QuoteOut(Schema):
    id = fields.String()
    number = fields.String()
    customer_id = fields.String()
    opportunity_id = fields.String(allow_none=True)
    owner_id = fields.String()
    currency = fields.String()
    valid_until = fields.Date()
    status = fields.Method("effective_status")
    net = fields.Decimal(as_string=True, places=2)
    tax = fields.Decimal(as_string=True, places=2)
    gross = fields.Decimal(as_string=True, places=2)
    order_id = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    lines = fields.List(fields.Nested(QuoteLineOut))

    def effective_status(self, quote):
        """``expired`` once the validity date has passed for a quote not yet decided."""
        return effective_status(quote)


# ---- activities -----------------------------------------------------------------------------

class ActivityLogSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    customer = fields.String(required=True, validate=validate.Length(min=1, max=36))
    subject = fields.String(required=True, validate=validate.Length(min=1, max=200))
    owner_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    due_at = aware(load_default=None, allow_none=True)
    done_at = aware(load_default=None, allow_none=True)
    outcome = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(OUTCOMES))
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))
    opportunity = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=36))

    @validates_schema
    def outcome_needs_done(self, data, **kwargs):
        if data.get("outcome") is not None and data.get("done_at") is None:
            raise ValidationError({"done_at": ["required with an outcome: when was it done?"]})


class ActivityCompleteSchema(StrictSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    done_at = aware(load_default=None, allow_none=True)  # default: now
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))


class PlannedVisitSchema(StrictSchema):
    customer = fields.String(required=True, validate=validate.Length(min=1, max=36))
    subject = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))
    due_at = aware(load_default=None, allow_none=True)  # default: by the end of the plan's day
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))
    opportunity = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=36))


class VisitPlanSchema(StrictSchema):
    date = fields.Date(required=True)
    owner_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))
    visits = fields.List(fields.Nested(PlannedVisitSchema), required=True,
                         validate=validate.Length(min=1, max=50))


class ActivitySearchSchema(PageSchema):
    owner_id = fields.String(validate=validate.Length(min=1, max=64))
    customer = fields.String(validate=validate.Length(min=1, max=36))
    kind = fields.String(validate=validate.OneOf(KINDS))
    open = fields.Boolean()                     # True: not done yet; False: done
    opportunity = fields.String(validate=validate.Length(min=1, max=36))
    due_from = aware()
    due_to = aware()


class ActivityOut(Schema):
    id = fields.String()
    kind = fields.String()
    customer_id = fields.String()
    owner_id = fields.String()
    subject = fields.String()
    due_at = fields.DateTime(allow_none=True)
    done_at = fields.DateTime(allow_none=True)
    outcome = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    opportunity_id = fields.String(allow_none=True)
    visit_plan_id = fields.String(allow_none=True)
    created_at = fields.DateTime()


class VisitPlanOut(Schema):
    id = fields.String()
    owner_id = fields.String()
    date = fields.Date(attribute="plan_date")
    notes = fields.String(allow_none=True)
    created_at = fields.DateTime()
    visits = fields.List(fields.Nested(ActivityOut))
