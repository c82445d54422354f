"""RPC entrypoints of the pipeline and opportunities."""
from guanxi_common.contracts.sales.opportunities import (OpportunityCreateSchema, OpportunityOut,
                                                         OpportunitySearchSchema,
                                                         OpportunitySummaryOut, StageOut,
                                                         StageSchema)
from guanxi_common.contracts.sales.references import LOST_REASON_MAX, STAGE_CODE_MAX
from guanxi_common.validation import load, text_arg
from sales.application import opportunities
from sales.entrypoints import api, page
from sales.queries import opportunities as opportunity_queries

opportunity_out = OpportunityOut()
stages_out = StageOut(many=True)


class OpportunityEntrypoints:

    # ---- pipeline -------------------------------------------------------------------------
    @api
    def define_stage(self, stage):
        data = load(StageSchema(), stage, field="stage")
        with self.uow as uow:
            opportunities.define_stage(uow, data)
            result = stages_out.dump(opportunity_queries.pipeline(uow.session))
        return result

    @api
    def pipeline(self):
        return stages_out.dump(opportunity_queries.pipeline(self.uow.session))

    # ---- opportunities --------------------------------------------------------------------
    @api
    def create_opportunity(self, opportunity):
        data = load(OpportunityCreateSchema(), opportunity, field="opportunity")
        with self.uow as uow:
            result = opportunity_out.dump(opportunities.create_opportunity(uow, data))
        return result

    @api
    def move_opportunity_stage(self, ref, stage, lost_reason=None):
        with self.uow as uow:
            moved = opportunities.move_stage(
                uow, text_arg("ref", ref), text_arg("stage", stage, max_length=STAGE_CODE_MAX),
                text_arg("lost_reason", lost_reason, max_length=LOST_REASON_MAX, required=False))
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
                                      text_arg("reason", reason, max_length=LOST_REASON_MAX))
            result = opportunity_out.dump(lost)
        return result

    @api
    def get_opportunity(self, ref):
        return opportunity_out.dump(opportunity_queries.get_opportunity(
            self.uow.session, self.uow.actor, text_arg("ref", ref)))

    @api
    def list_opportunities(self, criteria=None):
        data = load(OpportunitySearchSchema(), criteria or {}, field="criteria")
        return page(opportunity_queries.list_opportunities(self.uow.session, self.uow.actor, data),
                    OpportunitySummaryOut())
