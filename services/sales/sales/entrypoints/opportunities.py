"""RPC entrypoints of the funnel: products, pipeline, opportunities, quotes, activities.

Thin: parse with the schemas of ``sales.schemas.funnel``, call the plain functions of
``sales.products / opportunities / quotes / activities`` inside ``with self.uow``, dump.
Composed into the sales service class next to the other areas' mixins; ``uow`` comes from
``sales.base.SalesDependencies``.
"""
from guanxi_common.validation import load, text_arg
from sales import activities, opportunities, products, quotes
from sales.base import api
from sales.schemas.funnel import (ActivityCompleteSchema, ActivityLogSchema, ActivityOut,
                                  ActivitySearchSchema, OpportunityCreateSchema, OpportunityOut,
                                  OpportunitySearchSchema, OpportunitySummaryOut,
                                  ProductCreateSchema, ProductOut, ProductSearchSchema,
                                  ProductUpdateSchema, QuoteCreateSchema, QuoteOut,
                                  QuotePartnersIn, StageOut,
                                  StageSchema, VisitPlanOut, VisitPlanSchema)

product_out = ProductOut()
opportunity_out = OpportunityOut()
quote_out = QuoteOut()
activity_out = ActivityOut()
stages_out = StageOut(many=True)


def _page(result, schema):
    return dict(result, items=schema.dump(result["items"]))


class FunnelEntrypoints:

    # ---- products -------------------------------------------------------------------------
    @api
    def create_product(self, product):
        data = load(ProductCreateSchema(), product, field="product")
        with self.uow as uow:
            created = products.create_product(uow, data)
        return product_out.dump(created)

    @api
    def update_product(self, ref, changes):
        data = load(ProductUpdateSchema(), changes, field="changes", partial=True)
        with self.uow as uow:
            product = products.update_product(uow, text_arg("ref", ref), data)
        return product_out.dump(product)

    @api
    def deactivate_product(self, ref):
        with self.uow as uow:
            product = products.deactivate_product(uow, text_arg("ref", ref))
        return product_out.dump(product)

    @api
    def list_products(self, criteria=None):
        data = load(ProductSearchSchema(), criteria or {}, field="criteria")
        return _page(products.list_products(self.uow.session, data), ProductOut(many=True))

    # ---- pipeline -------------------------------------------------------------------------
    @api
    def define_stage(self, stage):
        data = load(StageSchema(), stage, field="stage")
        with self.uow as uow:
            opportunities.define_stage(uow, data)
            result = stages_out.dump(opportunities.stage_rows(uow.session))
        return result

    @api
    def pipeline(self):
        return stages_out.dump(opportunities.stage_rows(self.uow.session))

    # ---- opportunities --------------------------------------------------------------------
    @api
    def create_opportunity(self, opportunity):
        data = load(OpportunityCreateSchema(), opportunity, field="opportunity")
        with self.uow as uow:
            created = opportunities.create_opportunity(uow, data)
            result = opportunity_out.dump(created)
        return result

    @api
    def move_opportunity_stage(self, ref, stage, lost_reason=None):
        with self.uow as uow:
            moved = opportunities.move_stage(
                uow, text_arg("ref", ref), text_arg("stage", stage, max_length=30),
                text_arg("lost_reason", lost_reason, max_length=2000, required=False))
            result = opportunity_out.dump(moved)
        return result

    @api
    def win_opportunity(self, ref):
        with self.uow as uow:
            result = opportunity_out.dump(opportunities.win(uow, text_arg("ref", ref)))
        return result

    @api
    def lose_opportunity(self, ref, reason):
        with self.uow as uow:
            lost = opportunities.lose(uow, text_arg("ref", ref),
                                      text_arg("reason", reason, max_length=2000))
            result = opportunity_out.dump(lost)
        return result

    @api
    def get_opportunity(self, ref):
        return opportunity_out.dump(opportunities.get_opportunity(
            self.uow.session, self.uow.actor, text_arg("ref", ref)))

    @api
    def list_opportunities(self, criteria=None):
        data = load(OpportunitySearchSchema(), criteria or {}, field="criteria")
        return _page(opportunities.list_opportunities(self.uow.session, self.uow.actor, data),
                     OpportunitySummaryOut(many=True))

    # ---- quotes ---------------------------------------------------------------------------
    @api
    def create_quote(self, quote):
        data = load(QuoteCreateSchema(), quote, field="quote")
        with self.uow as uow:
            result = quote_out.dump(quotes.create_quote(uow, data))
        return result

    @api
    def send_quote(self, ref):
        with self.uow as uow:
            result = quote_out.dump(quotes.send_quote(uow, text_arg("ref", ref)))
        return result

    @api
    def accept_quote(self, ref, partners=None):
        named = load(QuotePartnersIn(), partners or {}, field="partners")
        with self.uow as uow:
            quote, order = quotes.accept_quote(uow, text_arg("ref", ref), named)
            result = {"quote": quote_out.dump(quote),
                      "order": {"id": order.id, "number": order.number, "status": order.status}}
        return result

    @api
    def reject_quote(self, ref):
        with self.uow as uow:
            result = quote_out.dump(quotes.reject_quote(uow, text_arg("ref", ref)))
        return result

    @api
    def get_quote(self, ref):
        return quote_out.dump(quotes.get_quote(self.uow.session, self.uow.actor, text_arg("ref", ref)))

    # ---- activities -----------------------------------------------------------------------
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
            done = activities.complete_activity(uow, text_arg("activity_id", activity_id, max_length=36),
                                                data)
            result = activity_out.dump(done)
        return result

    @api
    def plan_visits(self, plan):
        data = load(VisitPlanSchema(), plan, field="plan")
        with self.uow as uow:
            result = VisitPlanOut().dump(activities.plan_visits(uow, data))
        return result

    @api
    def activities_today(self, owner_id=None):
        lists = activities.agenda(self.uow.session, self.uow.actor,
                                  text_arg("owner_id", owner_id, max_length=64, required=False))
        return {"owner_id": lists["owner_id"], "date": lists["date"].isoformat(),
                "today": activity_out.dump(lists["today"], many=True),
                "overdue": activity_out.dump(lists["overdue"], many=True)}

    @api
    def list_activities(self, criteria=None):
        data = load(ActivitySearchSchema(), criteria or {}, field="criteria")
        return _page(activities.list_activities(self.uow.session, self.uow.actor, data),
                     ActivityOut(many=True))
