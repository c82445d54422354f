"""RPC of roles: the role-type catalogue and a customer's roles."""
from customer.application import roles
from customer.entrypoints import api, record
from customer.queries import roles as role_queries
from guanxi_common.contracts.customer import ROLE_CODE_MAX, RoleTypeDefinitionSchema
from guanxi_common.validation import load, text_arg


class RoleEntrypoints:
    @api
    def role_types(self):
        return role_queries.role_types(self.uow.session)

    @api
    def define_role_type(self, role_type):
        data = load(RoleTypeDefinitionSchema(), role_type, field="role_type")
        with self.uow as uow:
            roles.define_role_type(uow, data)
        return role_queries.role_types(self.uow.session)

    @api
    def add_role(self, ref, role):
        with self.uow as uow:
            customer = roles.add_role(uow, text_arg("ref", ref),
                                      text_arg("role", role, max_length=ROLE_CODE_MAX))
        return record(customer)

    @api
    def remove_role(self, ref, role):
        with self.uow as uow:
            customer = roles.remove_role(uow, text_arg("ref", ref),
                                         text_arg("role", role, max_length=ROLE_CODE_MAX))
        return record(customer)
