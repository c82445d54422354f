"""RPC entrypoints of activities, visit plans and a rep's agenda."""
from guanxi_common.contracts.sales.activities import (ActivityCompleteSchema, ActivityLogSchema,
                                                      ActivityOut, ActivitySearchSchema,
                                                      AgendaOut, VisitPlanIn)
from guanxi_common.contracts.sales.references import ACTIVITY_ID_MAX, OWNER
from guanxi_common.validation import load, text_arg
from sales.adapters.records import visit_plan_record
from sales.application import activities
from sales.entrypoints import api, page
from sales.queries import activities as activity_queries

activity_out = ActivityOut()
agenda_out = AgendaOut()


class ActivityEntrypoints:

    @api
    def log_activity(self, activity):
        data = load(ActivityLogSchema(), activity, field="activity")
        with self.uow as uow:
            result = activity_out.dump(activities.log_activity(uow, data))
        return result

    @api
    def complete_activity(self, activity_id, completion):
        data = load(ActivityCompleteSchema(), completion, field="completion")
        with self.uow as uow:
            done = activities.complete_activity(
                uow, text_arg("activity_id", activity_id, max_length=ACTIVITY_ID_MAX), data)
            result = activity_out.dump(done)
        return result

    @api
    def plan_visits(self, plan):
        data = load(VisitPlanIn(), plan, field="plan")
        with self.uow as uow:
            result = visit_plan_record(activities.plan_visits(uow, data))
        return result

    @api
    def activities_today(self, owner_id=None):
        owner = text_arg("owner_id", owner_id, max_length=OWNER.max, required=False)
        return agenda_out.dump(activity_queries.agenda(self.uow.session, self.uow.actor, owner))

    @api
    def list_activities(self, criteria=None):
        data = load(ActivitySearchSchema(), criteria or {}, field="criteria")
        return page(activity_queries.list_activities(self.uow.session, self.uow.actor, data),
                    activity_out)
