"""The pipeline (its stages) and opportunities: create, move, win, lose, search."""
from marshmallow import Schema, fields, validate

from guanxi_common.contracts.enums import OPPORTUNITY_STATUSES
from guanxi_common.contracts.fields import (CURRENCY, StrictSchema, WireDate, WireDateTime,
                                            PlainDecimal, RATE_PLACES, currency_places,
                                            decimal_out, money_in, money_out, name_text,
                                            page_schema)
from guanxi_common.contracts.sales.references import (CUSTOMER_REF, LOST_REASON_MAX, OWNER,
                                                      REGION, STAGE_CODE_MAX)

OpportunityPage = page_schema(default_size=50, max_size=500, name="OpportunityPage")


# ---- pipeline -------------------------------------------------------------------------------

class StageSchema(StrictSchema):
    """``define_stage``: a stage added or changed."""

    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,29}$",
                                                                 error="lower-case letters, digits, _"))
    name = name_text(80, required=True)
    position = fields.Integer(required=True, validate=validate.Range(min=0, max=100_000))
    probability = PlainDecimal(integer_digits=1, places=RATE_PLACES, up_to_one=True,
                               required=True,
                               rule="a fraction from 0 to 1, at most 4 decimal places")
    is_won = fields.Boolean(load_default=False)
    is_lost = fields.Boolean(load_default=False)


class StageOut(Schema):
    code = fields.String()
    name = fields.String()
    position = fields.Integer()
    probability = decimal_out(4)
    is_won = fields.Boolean()
    is_lost = fields.Boolean()


# ---- opportunities --------------------------------------------------------------------------

class OpportunityCreateSchema(StrictSchema):
    customer = fields.String(required=True, validate=CUSTOMER_REF)
    title = name_text(200, required=True)
    amount = money_in(required=True)
    currency = fields.String(load_default="CNY", validate=CURRENCY)
    expected_close = fields.Date(load_default=None, allow_none=True)
    owner_id = fields.String(load_default=None, allow_none=True, validate=OWNER,
                             metadata={"description": "Default the caller; another owner "
                                                      "needs sales_manager."})
    source_campaign_id = fields.String(load_default=None, allow_none=True, validate=CUSTOMER_REF)
    source_text = fields.String(load_default=None, allow_none=True,
                                validate=validate.Length(max=200))

    check_places = currency_places("amount")


class StageMoveSchema(StrictSchema):
    """``move_opportunity_stage(ref, stage, lost_reason)``'s arguments."""

    stage = fields.String(required=True, validate=validate.Length(min=1, max=STAGE_CODE_MAX))
    lost_reason = fields.String(allow_none=True,
                                validate=validate.Length(min=1, max=LOST_REASON_MAX),
                                metadata={"description": "Required for a lost stage."})


class LoseSchema(StrictSchema):
    """``lose_opportunity(ref, reason)``'s arguments."""

    reason = fields.String(required=True, validate=validate.Length(min=1, max=LOST_REASON_MAX))


class OpportunityFilters(StrictSchema):
    owner_id = fields.String(validate=OWNER)
    stage = fields.String(validate=validate.Length(min=1, max=STAGE_CODE_MAX))
    status = fields.String(validate=validate.OneOf(OPPORTUNITY_STATUSES))
    customer = fields.String(validate=CUSTOMER_REF)
    region = fields.String(validate=REGION)


class OpportunitySearchSchema(OpportunityFilters, OpportunityPage):
    """``list_opportunities`` criteria: the filters and the page."""


class StageChangeOut(Schema):
    stage = fields.String()
    entered_at = WireDateTime()
    actor_id = fields.String(allow_none=True)


class OpportunitySummaryOut(Schema):
    """An opportunity without its stage history (a row of ``list_opportunities``)."""

    id = fields.String()
    number = fields.String()
    customer_id = fields.String()
    owner_id = fields.String(allow_none=True)
    title = fields.String()
    amount = money_out()
    currency = fields.String()
    expected_close = WireDate(allow_none=True)
    source_campaign_id = fields.String(allow_none=True)
    source_text = fields.String(allow_none=True)
    stage = fields.String()
    status = fields.String(metadata={"enum": list(OPPORTUNITY_STATUSES)})
    lost_reason = fields.String(allow_none=True)
    closed_at = WireDateTime(allow_none=True)
    region = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = WireDateTime()
    updated_at = WireDateTime()


class OpportunityOut(OpportunitySummaryOut):
    stage_history = fields.List(fields.Nested(StageChangeOut))
