"""Reading the product catalogue: everyone who works with sales may."""
from sqlalchemy import func, or_, select

from sales.adapters.models import Product


def _like(text):
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_products(session, criteria):
    """Products by SKU or name fragment (case-insensitive), SKU order, paged."""
    page, size = criteria.get("page", 1), criteria.get("page_size", 50)
    stmt = select(Product)
    active = criteria.get("active", True)  # None: active and inactive
    if active is not None:
        stmt = stmt.where(Product.active.is_(bool(active)))
    if criteria.get("q"):
        pattern = _like(criteria["q"].strip().lower())
        stmt = stmt.where(or_(func.lower(Product.sku).like(pattern, escape="\\"),
                              func.lower(Product.name).like(pattern, escape="\\")))
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    items = session.scalars(stmt.order_by(Product.sku).limit(size).offset((page - 1) * size)).all()
    return {"items": items, "total": total, "page": page, "page_size": size}
