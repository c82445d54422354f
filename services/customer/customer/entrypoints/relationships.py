"""RPC of relationships: the relationship-type catalogue, links between customers, groups."""
from datetime import datetime

from customer.adapters import records
from customer.application import relationships
from customer.entrypoints import api
from customer.queries import relationships as relationship_queries
from guanxi_common.contracts.customer import (RelationshipCreateSchema, RelationshipSchema,
                                              RelationshipTypeDefinitionSchema)
from guanxi_common.errors import ValidationFailed
from guanxi_common.validation import load, text_arg

RELATIONSHIP = RelationshipSchema()


class RelationshipEntrypoints:
    @api
    def relationship_types(self):
        return relationship_queries.relationship_types(self.uow.session)

    @api
    def define_relationship_type(self, relationship_type):
        data = load(RelationshipTypeDefinitionSchema(), relationship_type,
                    field="relationship_type")
        with self.uow as uow:
            relationships.define_relationship_type(uow, data)
        return relationship_queries.relationship_types(self.uow.session)

    @api
    def add_relationship(self, relationship):
        data = load(RelationshipCreateSchema(), relationship, field="relationship")
        with self.uow as uow:
            rel = relationships.add_relationship(uow, data)
            return RELATIONSHIP.dump(records.relationship_of(rel))

    @api
    def end_relationship(self, relationship_id, valid_to=None):
        day = _date_arg("valid_to", valid_to)
        with self.uow as uow:
            rel = relationships.end_relationship(
                uow, text_arg("relationship_id", relationship_id), day)
            return RELATIONSHIP.dump(records.relationship_of(rel))

    @api
    def remove_relationship(self, relationship_id):
        with self.uow as uow:
            relationships.end_relationship(uow, text_arg("relationship_id", relationship_id),
                                           remove=True)
        return {"removed": relationship_id}

    @api
    def relationships(self, ref, include_ended=False):
        return relationship_queries.list_relationships(
            self.uow.session, self.uow.actor, text_arg("ref", ref),
            include_ended=bool(include_ended))

    @api
    def group_tree(self, ref):
        return relationship_queries.group_tree(self.uow.session, self.uow.actor,
                                               text_arg("ref", ref))


def _date_arg(name, value):
    if value is None:
        return None
    try:
        return datetime.strptime(text_arg(name, value, max_length=10), "%Y-%m-%d").date()
    except ValueError:
        raise ValidationFailed(f"{name} must be a date", {name: ["must be YYYY-MM-DD"]}) from None
