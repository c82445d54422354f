"""The product catalogue: create, change, search; the product record."""
from decimal import Decimal

from marshmallow import Schema, fields, validate

from guanxi_common.contracts.fields import (CURRENCY, StrictSchema, WireDateTime,
                                            currency_places, decimal_out, fraction_in, money_in, money_out, name_text,
                                            page_schema)
from guanxi_common.contracts.sales.references import REF

#: the most products one list_products page holds
PRODUCT_PAGE_MAX = 500
ProductPage = page_schema(default_size=50, max_size=PRODUCT_PAGE_MAX, name="ProductPage")


class ProductFields(StrictSchema):
    sku = fields.String(validate=REF,
                        metadata={"description": "Stored trimmed and upper-case; unique."})
    name = name_text(200)
    unit = fields.String(validate=validate.Length(min=1, max=20),
                         metadata={"description": "Default pcs."})
    currency = fields.String(validate=CURRENCY, metadata={"description": "Default CNY."})
    list_price = money_in()
    unit_cost = money_in(allow_none=True, metadata={"description": "Null: unknown."})
    tax_rate = fraction_in()
    active = fields.Boolean()

    check_places = currency_places("list_price", "unit_cost")


class ProductCreateSchema(ProductFields):
    sku = fields.String(required=True, validate=REF,
                        metadata={"description": "Stored trimmed and upper-case; unique."})
    name = name_text(200, required=True)
    unit = fields.String(load_default="pcs", validate=validate.Length(min=1, max=20),
                         metadata={"description": "Default pcs."})
    currency = fields.String(load_default="CNY", validate=CURRENCY,
                             metadata={"description": "Default CNY."})
    list_price = money_in(required=True)
    unit_cost = money_in(load_default=None, allow_none=True,
                         metadata={"description": "Null: unknown."})
    tax_rate = fraction_in(load_default=Decimal("0.13"))
    active = fields.Boolean(load_default=True)


class ProductUpdateSchema(ProductFields):
    """Any product fields; only those sent change (loaded with ``partial=True``)."""


class ProductFilters(StrictSchema):
    q = fields.String(validate=validate.Length(min=1, max=100),
                      metadata={"description": "SKU or name fragment, any case."})
    active = fields.Boolean(load_default=True, allow_none=True)  # None: active and inactive


class ProductSearchSchema(ProductFilters, ProductPage):
    """``list_products`` criteria: the filters and the page."""


class ProductOut(Schema):
    id = fields.String()
    sku = fields.String()
    name = fields.String()
    unit = fields.String()
    currency = fields.String()
    list_price = money_out()
    unit_cost = money_out(allow_none=True)
    tax_rate = decimal_out(4)
    active = fields.Boolean()
    created_at = WireDateTime()
    updated_at = WireDateTime()
