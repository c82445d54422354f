"""SQLAlchemy models of the sales service (its own database).

``customer_replica`` is sales' own copy of the customer master data it needs, fed by the
customer events, so orders and credit checks keep working while the customer service is
down. Everything else is owned by sales.
"""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric,
                        String, Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from guanxi_common import idempotency
from guanxi_common.columns import UTCDateTime
from guanxi_common.sequences import NumberSequenceColumns

MONEY = Numeric(18, 2)
RATE = Numeric(7, 4)
QUANTITY = Numeric(18, 3)


class Base(DeclarativeBase):
    pass


idempotency_keys = idempotency.make_table(Base.metadata)


class NumberSequence(NumberSequenceColumns, Base):
    """Counters for human numbers per kind and year (SO-2026-000123)."""


class CustomerReplica(Base):
    """What sales knows of a customer, as of ``version`` of the customer events."""

    __tablename__ = "customer_replica"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    party_type: Mapped[str] = mapped_column(String(10), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    roles: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    credit_limit: Mapped[Decimal | None] = mapped_column(MONEY)
    credit_currency: Mapped[str] = mapped_column(String(3), nullable=False, default="CNY")
    credit_policy: Mapped[str] = mapped_column(String(8), nullable=False, default="none")
    owner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    province: Mapped[str | None] = mapped_column(String(40))
    city: Mapped[str | None] = mapped_column(String(60))
    tier: Mapped[str | None] = mapped_column(String(12))
    merged_into_id: Mapped[str | None] = mapped_column(String(36))
    erased: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Product(Base):
    __tablename__ = "products"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sku: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    unit: Mapped[str] = mapped_column(String(20), nullable=False, default="pcs")
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="CNY")
    list_price: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    unit_cost: Mapped[Decimal | None] = mapped_column(MONEY)
    tax_rate: Mapped[Decimal] = mapped_column(RATE, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class PipelineStage(Base):
    """The configurable sales pipeline: stages with their win probability (data)."""

    __tablename__ = "pipeline_stages"
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    probability: Mapped[Decimal] = mapped_column(RATE, nullable=False)
    is_won: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_lost: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class Opportunity(Base):
    __tablename__ = "opportunities"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer_replica.id"), nullable=False,
                                             index=True)
    owner_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="CNY")
    expected_close: Mapped[date | None] = mapped_column(Date)
    source_campaign_id: Mapped[str | None] = mapped_column(String(36))
    source_text: Mapped[str | None] = mapped_column(String(200))
    stage_code: Mapped[str] = mapped_column(ForeignKey("pipeline_stages.code"), nullable=False)
    status: Mapped[str] = mapped_column(String(8), nullable=False, default="open")  # open/won/lost
    lost_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    region: Mapped[str | None] = mapped_column(String(40))  # the customer's province when created
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    stage_history: Mapped[list["StageChange"]] = relationship(
        back_populates="opportunity", cascade="all, delete-orphan", order_by="StageChange.id")
    __table_args__ = (Index("ix_opportunities_status_close", "status", "expected_close"),)

    @property
    def stage(self):
        """The wire name of ``stage_code`` (the contract's ``stage``)."""
        return self.stage_code


class StageChange(Base):
    __tablename__ = "opportunity_stage_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    opportunity_id: Mapped[str] = mapped_column(ForeignKey("opportunities.id"), nullable=False,
                                                index=True)
    stage_code: Mapped[str] = mapped_column(String(30), nullable=False)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    actor_id: Mapped[str] = mapped_column(String(64), nullable=False)
    opportunity: Mapped[Opportunity] = relationship(back_populates="stage_history")

    @property
    def stage(self):
        return self.stage_code


class Quote(Base):
    __tablename__ = "quotes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer_replica.id"), nullable=False,
                                             index=True)
    opportunity_id: Mapped[str | None] = mapped_column(ForeignKey("opportunities.id"))
    owner_id: Mapped[str] = mapped_column(String(64), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="CNY")
    valid_until: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)  # draft/sent/accepted/rejected/expired
    net: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    tax: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    gross: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    order_id: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    lines: Mapped[list["QuoteLine"]] = relationship(
        back_populates="quote", cascade="all, delete-orphan", order_by="QuoteLine.position")


class QuoteLine(Base):
    __tablename__ = "quote_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    quote_id: Mapped[str] = mapped_column(ForeignKey("quotes.id"), nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), nullable=False)
    sku: Mapped[str] = mapped_column(String(40), nullable=False)
    description: Mapped[str] = mapped_column(String(200), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY, nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    discount: Mapped[Decimal] = mapped_column(RATE, nullable=False, default=0)
    tax_rate: Mapped[Decimal] = mapped_column(RATE, nullable=False)
    unit_cost: Mapped[Decimal | None] = mapped_column(MONEY)
    net: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    tax: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    gross: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    quote: Mapped[Quote] = relationship(back_populates="lines")


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    sold_to_id: Mapped[str] = mapped_column(ForeignKey("customer_replica.id"), nullable=False,
                                            index=True)
    ship_to_id: Mapped[str] = mapped_column(ForeignKey("customer_replica.id"), nullable=False)
    bill_to_id: Mapped[str] = mapped_column(ForeignKey("customer_replica.id"), nullable=False)
    payer_id: Mapped[str] = mapped_column(ForeignKey("customer_replica.id"), nullable=False,
                                          index=True)
    owner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    region: Mapped[str | None] = mapped_column(String(40))
    quote_id: Mapped[str | None] = mapped_column(String(36))
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="CNY")
    status: Mapped[str] = mapped_column(String(12), nullable=False, index=True)
    net: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    tax: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    gross: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    cost: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    margin: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    # the credit check when the order was placed (or last rose in value)
    credit_outcome: Mapped[str] = mapped_column(String(5), nullable=False)  # pass/warn/hold
    credit_exposure: Mapped[Decimal | None] = mapped_column(MONEY)
    credit_limit: Mapped[Decimal | None] = mapped_column(MONEY)
    credit_note: Mapped[str | None] = mapped_column(Text)
    released_by: Mapped[str | None] = mapped_column(String(64))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    release_reason: Mapped[str | None] = mapped_column(Text)
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.position")
    transitions: Mapped[list["OrderTransition"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderTransition.id")
    __table_args__ = (Index("ix_orders_ordered_at", "ordered_at"),)

    @property
    def credit(self):
        """The credit columns as the contract's ``credit`` object."""
        return {"outcome": self.credit_outcome, "exposure": self.credit_exposure,
                "limit": self.credit_limit, "note": self.credit_note,
                "released_by": self.released_by, "released_at": self.released_at,
                "release_reason": self.release_reason}


class OrderLine(Base):
    """A line with the product's price and cost as they were when the order was placed."""

    __tablename__ = "order_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), nullable=False, index=True)
    sku: Mapped[str] = mapped_column(String(40), nullable=False)
    description: Mapped[str] = mapped_column(String(200), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY, nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    discount: Mapped[Decimal] = mapped_column(RATE, nullable=False, default=0)
    tax_rate: Mapped[Decimal] = mapped_column(RATE, nullable=False)
    unit_cost: Mapped[Decimal | None] = mapped_column(MONEY)
    net: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    tax: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    gross: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    cost: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    margin: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    order: Mapped[Order] = relationship(back_populates="lines")


class OrderTransition(Base):
    """Every status change of an order: who, when, from, to, why."""

    __tablename__ = "order_transitions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), nullable=False, index=True)
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12), nullable=False)
    actor_id: Mapped[str] = mapped_column(String(64), nullable=False)
    request_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    order: Mapped[Order] = relationship(back_populates="transitions")


class Invoice(Base):
    __tablename__ = "invoices"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), unique=True, nullable=False)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer_replica.id"), nullable=False,
                                             index=True)  # the payer
    owner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="CNY")
    amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    paid_amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False, default=0)
    outstanding: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    issue_date: Mapped[date] = mapped_column(Date, nullable=False)
    terms_days: Mapped[int] = mapped_column(Integer, nullable=False)
    due_date: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # open/partially_paid/paid
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    payments: Mapped[list["Payment"]] = relationship(
        back_populates="invoice", order_by="Payment.received_at")
    __table_args__ = (Index("ix_invoices_status_due", "status", "due_date"),)


class Payment(Base):
    __tablename__ = "payments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), nullable=False, index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer_replica.id"), nullable=False)
    amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="CNY")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    method: Mapped[str | None] = mapped_column(String(20))
    reference: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    invoice: Mapped[Invoice] = relationship(back_populates="payments")


class VisitPlan(Base):
    """A rep's plan of visits for one day; the visits themselves are activities."""

    __tablename__ = "visit_plans"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(64), nullable=False)
    plan_date: Mapped[date] = mapped_column(Date, nullable=False)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    __table_args__ = (UniqueConstraint("owner_id", "plan_date", name="uq_visit_plan_day"),)


class Activity(Base):
    """A call, visit, meeting or task; logging one emits ``activity.logged``."""

    __tablename__ = "activities"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer_replica.id"), nullable=False,
                                             index=True)
    owner_id: Mapped[str] = mapped_column(String(64), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(Text)
    opportunity_id: Mapped[str | None] = mapped_column(ForeignKey("opportunities.id"))
    visit_plan_id: Mapped[str | None] = mapped_column(ForeignKey("visit_plans.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    __table_args__ = (Index("ix_activities_owner_due", "owner_id", "done_at", "due_at"),)
