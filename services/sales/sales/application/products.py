"""The product catalogue: SKU, name, unit, list price, unit cost (for margin), tax rate, active.

Only sales managers and admins change the catalogue; everyone who works with sales reads
it. SKUs are stored trimmed and upper-case, so ``ab-1`` and ``AB-1`` are the same SKU. A
product is never deleted (orders and quotes point to it): it is deactivated, and an
inactive product cannot be quoted or ordered.
"""
import uuid

from sqlalchemy.exc import IntegrityError

from guanxi_common import access
from guanxi_common.clock import utcnow
from guanxi_common.errors import Conflict
from sales.adapters.models import Product
from sales.adapters.repository import find_product, normalize_sku, sku_taken

CATALOGUE_ROLES = ("sales_manager",)  # and admin (always)
FIELDS = ("sku", "name", "unit", "currency", "list_price", "unit_cost", "tax_rate", "active")


def _ensure_catalogue_role(actor, action):
    access.ensure_role(actor, *CATALOGUE_ROLES, action=action)


def _ensure_sku_free(session, sku, exclude_id=None):
    if sku_taken(session, sku, exclude_id):
        raise Conflict(f"SKU {sku} already exists", {"sku": sku})


def _flush(session, sku):
    """Flush; a concurrent insert of the same SKU ends as a Conflict, not a crash."""
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"SKU {sku} already exists", {"sku": sku}) from None


def create_product(uow, data):
    session = uow.session
    _ensure_catalogue_role(uow.actor, "change the product catalogue")
    sku = normalize_sku(data["sku"])
    _ensure_sku_free(session, sku)
    now = utcnow()
    product = Product(id=str(uuid.uuid4()), sku=sku, name=data["name"].strip(),
                      unit=data.get("unit") or "pcs", currency=data.get("currency") or "CNY",
                      list_price=data["list_price"], unit_cost=data.get("unit_cost"),
                      tax_rate=data["tax_rate"], active=data.get("active", True),
                      created_at=now, updated_at=now)
    session.add(product)
    _flush(session, sku)
    return product


def update_product(uow, ref, changes):
    session = uow.session
    _ensure_catalogue_role(uow.actor, "change the product catalogue")
    product = find_product(session, ref)
    changes = {k: v for k, v in changes.items() if k in FIELDS}
    if "sku" in changes:
        changes["sku"] = normalize_sku(changes["sku"])
        _ensure_sku_free(session, changes["sku"], exclude_id=product.id)
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    changed = False
    for field, value in changes.items():
        if getattr(product, field) != value:
            setattr(product, field, value)
            changed = True
    if changed:
        product.updated_at = utcnow()
        _flush(session, product.sku)
    return product


def deactivate_product(uow, ref):
    return update_product(uow, ref, {"active": False})
