"""RPC entrypoints of the product catalogue."""
from guanxi_common.contracts.sales.products import (ProductCreateSchema, ProductOut,
                                                    ProductSearchSchema, ProductUpdateSchema)
from guanxi_common.validation import load, text_arg
from sales.application import products
from sales.entrypoints import api, page
from sales.queries import products as product_queries

product_out = ProductOut()


class ProductEntrypoints:

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
        return page(product_queries.list_products(self.uow.session, data), product_out)
