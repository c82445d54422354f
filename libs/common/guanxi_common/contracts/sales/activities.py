"""Activities (calls, visits, meetings, tasks), visit plans and a rep's agenda."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from guanxi_common.contracts.enums import ACTIVITY_KINDS, ACTIVITY_OUTCOMES
from guanxi_common.contracts.fields import (StrictSchema, WireDate, WireDateTime, aware,
                                            page_schema)
from guanxi_common.contracts.sales.references import CUSTOMER_REF, OWNER

ActivityPage = page_schema(default_size=50, max_size=500, name="ActivityPage")
NOTES = validate.Length(max=4000)
VISITS_PER_PLAN_MAX = 50


class ActivityLogSchema(StrictSchema):
    """``log_activity``: plan one (``due_at``) or log one already done (``done_at`` and
    ``outcome``)."""

    kind = fields.String(required=True, validate=validate.OneOf(ACTIVITY_KINDS))
    customer = fields.String(required=True, validate=CUSTOMER_REF)
    subject = fields.String(required=True, validate=validate.Length(min=1, max=200))
    owner_id = fields.String(load_default=None, allow_none=True, validate=OWNER)
    due_at = aware(load_default=None, allow_none=True,
                   metadata={"description": "Plan: when it is due."})
    done_at = aware(load_default=None, allow_none=True,
                    metadata={"description": "Log: when it was done."})
    outcome = fields.String(load_default=None, allow_none=True,
                            validate=validate.OneOf(ACTIVITY_OUTCOMES))
    notes = fields.String(load_default=None, allow_none=True, validate=NOTES)
    opportunity = fields.String(load_default=None, allow_none=True, validate=CUSTOMER_REF)

    @validates_schema
    def one_time_given(self, data, **kwargs):
        if data.get("due_at") is None and data.get("done_at") is None:
            raise ValidationError({"due_at": ["due_at or done_at is required"]})
        if data.get("outcome") is not None and data.get("done_at") is None:
            raise ValidationError({"done_at": ["required with an outcome: when was it done?"]})


class ActivityCompleteSchema(StrictSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(ACTIVITY_OUTCOMES))
    done_at = aware(load_default=None, allow_none=True, metadata={"description": "Default now."})
    notes = fields.String(load_default=None, allow_none=True, validate=NOTES)


class PlannedVisitSchema(StrictSchema):
    customer = fields.String(required=True, validate=CUSTOMER_REF)
    subject = fields.String(load_default=None, allow_none=True,
                            validate=validate.Length(min=1, max=200))
    due_at = aware(load_default=None, allow_none=True)  # default: by the end of the plan's day
    notes = fields.String(load_default=None, allow_none=True, validate=NOTES)
    opportunity = fields.String(load_default=None, allow_none=True, validate=CUSTOMER_REF)


class VisitPlanIn(StrictSchema):
    """``plan_visits``: visits added to a rep's plan for one office day."""

    date = fields.Date(required=True, metadata={"description": "Office day (Asia/Shanghai)."})
    owner_id = fields.String(load_default=None, allow_none=True, validate=OWNER)
    notes = fields.String(load_default=None, allow_none=True, validate=NOTES)
    visits = fields.List(fields.Nested(PlannedVisitSchema), required=True,
                         validate=validate.Length(min=1, max=VISITS_PER_PLAN_MAX))


class ActivityFilters(StrictSchema):
    owner_id = fields.String(validate=OWNER)
    customer = fields.String(validate=CUSTOMER_REF)
    kind = fields.String(validate=validate.OneOf(ACTIVITY_KINDS))
    open = fields.Boolean(metadata={"description": "True: not done; false: done."})
    opportunity = fields.String(validate=CUSTOMER_REF)
    due_from = aware()
    due_to = aware()


class ActivitySearchSchema(ActivityFilters, ActivityPage):
    """``list_activities`` criteria: the filters and the page."""


class AgendaIn(StrictSchema):
    """``activities_today(owner_id)``'s argument."""

    owner_id = fields.String(validate=OWNER,
                             metadata={"description": "Default the caller; another owner "
                                                      "needs sales_manager."})


class ActivityOut(Schema):
    id = fields.String()
    kind = fields.String(metadata={"enum": list(ACTIVITY_KINDS)})
    customer_id = fields.String()
    owner_id = fields.String(allow_none=True)
    subject = fields.String()
    due_at = WireDateTime(allow_none=True)
    done_at = WireDateTime(allow_none=True)
    outcome = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    opportunity_id = fields.String(allow_none=True)
    visit_plan_id = fields.String(allow_none=True)
    created_at = WireDateTime()


class VisitPlanOut(Schema):
    id = fields.String()
    owner_id = fields.String(allow_none=True)
    date = WireDate()
    notes = fields.String(allow_none=True)
    created_at = WireDateTime()
    visits = fields.List(fields.Nested(ActivityOut))


class AgendaOut(Schema):
    """``activities_today``: the owner's open activities due today and overdue ones."""

    owner_id = fields.String(allow_none=True)
    date = WireDate()
    today = fields.List(fields.Nested(ActivityOut))
    overdue = fields.List(fields.Nested(ActivityOut))
