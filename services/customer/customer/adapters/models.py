"""SQLAlchemy models of the customer service (its own database).

Persons and companies share one ``customers`` table: search, the pool and
merge treat them alike, and the party-specific columns are few.
"""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, event,
                        Numeric, String, Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from guanxi_common.columns import UTCDateTime
from guanxi_common.sequences import NumberSequenceColumns

MONEY = Numeric(18, 2)


class Base(DeclarativeBase):
    pass


class NumberSequence(NumberSequenceColumns, Base):
    """Counters for human numbers (C00001234); a row lock makes them gap-tolerant but unique."""


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    number: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    party_type: Mapped[str] = mapped_column(String(10), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # search form of the name (fragment search re-checks against it)
    name_normalized: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    # duplicate-matching key: company names without legal-form suffixes
    match_key: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    tier: Mapped[str | None] = mapped_column(String(12))
    province: Mapped[str | None] = mapped_column(String(40))
    city: Mapped[str | None] = mapped_column(String(60))
    owner_id: Mapped[str | None] = mapped_column(String(64))
    owned_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_owner_id: Mapped[str | None] = mapped_column(String(64))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_follow_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    marketing_consent: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    marketing_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    credit_limit: Mapped[Decimal | None] = mapped_column(MONEY)
    credit_currency: Mapped[str] = mapped_column(String(3), nullable=False, default="CNY")
    credit_policy: Mapped[str] = mapped_column(String(8), nullable=False, default="none")
    preferences: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    # person
    gender: Mapped[str | None] = mapped_column(String(10))
    birth_date: Mapped[date | None] = mapped_column(Date)
    marital_status: Mapped[str | None] = mapped_column(String(12))
    # company
    industry: Mapped[str | None] = mapped_column(String(80))
    founded_on: Mapped[date | None] = mapped_column(Date)
    registered_capital: Mapped[Decimal | None] = mapped_column(MONEY)
    registered_capital_currency: Mapped[str | None] = mapped_column(String(3))
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    # merge and privacy
    merged_into_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"))
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_by: Mapped[str | None] = mapped_column(String(64))
    erase_reason: Mapped[str | None] = mapped_column(Text)
    # the record as ``get`` answers it, refreshed on every change (see records.py)
    record: Mapped[str | None] = mapped_column(Text)
    # bookkeeping
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    contact_points: Mapped[list["ContactPoint"]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="ContactPoint.id")
    addresses: Mapped[list["Address"]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="Address.id")
    roles: Mapped[list["CustomerRole"]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="CustomerRole.role_code")
    tags: Mapped[list["CustomerTag"]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="CustomerTag.tag")
    financials: Mapped[list["FinancialSummary"]] = relationship(
        back_populates="customer", cascade="all, delete-orphan",
        order_by="FinancialSummary.fiscal_year")
    merged_into: Mapped["Customer | None"] = relationship(remote_side=[id])

    # Search pages newest first: every filter index ends in seq, so a filtered page is an
    # index walk that stops after page_size hits instead of a sort of every hit.
    __table_args__ = (
        Index("ix_customers_status_seq", "status", "seq"),
        Index("ix_customers_province_seq", "province", "seq"),
        Index("ix_customers_city_seq", "city", "seq"),
        Index("ix_customers_tier_seq", "tier", "seq"),
        Index("ix_customers_owner_seq", "owner_id", "seq"),
        Index("ix_customers_party_seq", "party_type", "seq"),
        Index("ix_customers_person_dup", "match_key", "birth_date"),
        Index("ix_customers_pool_clock", "owner_id", "last_follow_up_at"),
    )


class ContactPoint(Base):
    """A phone (E.164) or email (normalised); unique across customers: the duplicate guard."""

    __tablename__ = "contact_points"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    value: Mapped[str] = mapped_column(String(254), nullable=False)
    label: Mapped[str | None] = mapped_column(String(20))
    is_primary: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    customer: Mapped[Customer] = relationship(back_populates="contact_points")
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_contact_points_kind_value"),)


class Address(Base):
    __tablename__ = "addresses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    country: Mapped[str] = mapped_column(String(2), nullable=False, default="CN")
    province: Mapped[str | None] = mapped_column(String(40))
    city: Mapped[str | None] = mapped_column(String(60))
    district: Mapped[str | None] = mapped_column(String(60))
    street: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(12))
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    customer: Mapped[Customer] = relationship(back_populates="addresses")


class FinancialSummary(Base):
    __tablename__ = "financial_summaries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), nullable=False)
    fiscal_year: Mapped[int] = mapped_column(Integer, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="CNY")
    revenue: Mapped[Decimal | None] = mapped_column(MONEY)
    net_profit: Mapped[Decimal | None] = mapped_column(MONEY)
    total_assets: Mapped[Decimal | None] = mapped_column(MONEY)
    customer: Mapped[Customer] = relationship(back_populates="financials")
    __table_args__ = (UniqueConstraint("customer_id", "fiscal_year", name="uq_financials_year"),)


class RoleType(Base):
    """Catalogue of partner functions (sold_to, payer…): data, extended at run time."""

    __tablename__ = "role_types"
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    label_en: Mapped[str] = mapped_column(String(80), nullable=False)
    label_zh: Mapped[str] = mapped_column(String(80), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class CustomerRole(Base):
    __tablename__ = "customer_roles"
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    role_code: Mapped[str] = mapped_column(ForeignKey("role_types.code"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)  # the customer's, for search
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    customer: Mapped[Customer] = relationship(back_populates="roles")
    __table_args__ = (Index("ix_customer_roles_role_seq", "role_code", "seq"),)


class CustomerTag(Base):
    __tablename__ = "customer_tags"
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(50), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)  # the customer's, for search
    customer: Mapped[Customer] = relationship(back_populates="tags")
    __table_args__ = (Index("ix_customer_tags_tag_seq", "tag", "seq"),)


@event.listens_for(CustomerRole, "before_insert")
@event.listens_for(CustomerTag, "before_insert")
def _copy_customer_seq(mapper, connection, target):
    """Role and tag rows carry their customer's seq so a search can page through them in
    customer order (see NameToken); whoever adds one need not remember it."""
    target.seq = target.customer.seq


class RelationshipType(Base):
    __tablename__ = "relationship_types"
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    inverse_name: Mapped[str] = mapped_column(String(80), nullable=False)
    # the code of the other direction ("subsidiary_of" for "holding_of"), accepted as input
    inverse_code: Mapped[str | None] = mapped_column(String(30), unique=True)
    name_zh: Mapped[str | None] = mapped_column(String(80))
    inverse_name_zh: Mapped[str | None] = mapped_column(String(80))
    from_party_types: Mapped[str] = mapped_column(String(30), nullable=False)  # "person,company"
    to_party_types: Mapped[str] = mapped_column(String(30), nullable=False)
    hierarchical: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class Relationship(Base):
    __tablename__ = "relationships"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type_code: Mapped[str] = mapped_column(ForeignKey("relationship_types.code"), nullable=False)
    from_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    to_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(64))
    type: Mapped[RelationshipType] = relationship()
    from_customer: Mapped[Customer] = relationship(foreign_keys=[from_id])
    to_customer: Mapped[Customer] = relationship(foreign_keys=[to_id])
    __table_args__ = (Index("ix_relationships_type_from", "type_code", "from_id"),)


class NameToken(Base):
    """Inverted index of the names of live customers (merged and erased ones are left
    out): their n-grams and pinyin keys (``names.index_tokens``). Postings are keyed
    (token, seq), so they come in customer order: a page is the first hits of an index
    walk and a count never touches the customers table."""

    __tablename__ = "name_tokens"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    __table_args__ = (Index("ix_name_tokens_seq", "seq"), {"sqlite_with_rowid": False})


class HistoryEntry(Base):
    """One changed field of one customer: who, when, old and new value (JSON text)."""

    __tablename__ = "customer_history"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    field: Mapped[str] = mapped_column(String(80), nullable=False)
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[str] = mapped_column(String(64), nullable=False)
    request_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    __table_args__ = (Index("ix_history_customer", "customer_id", "id"),)
