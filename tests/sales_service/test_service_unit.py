"""The sales service class in isolation (``worker_factory``): no broker, no container, no
migrations. Its unit of work is a fake on an in-memory schema (with the default pipeline),
the customer service a mock. Each area's entrypoints are shown to parse their input with
the contract, call their one command or query, and dump an answer the contract accepts."""
from datetime import date
from unittest.mock import MagicMock

import pytest
from nameko.testing.services import worker_factory

from guanxi_common.contracts.sales import activities as activity_contract
from guanxi_common.contracts.sales import billing as billing_contract
from guanxi_common.contracts.sales import opportunities as opportunity_contract
from guanxi_common.contracts.sales import orders as order_contract
from guanxi_common.contracts.sales import products as product_contract
from guanxi_common.contracts.sales import quotes as quote_contract
from guanxi_common.contracts.sales import replica as replica_contract
from guanxi_common.contracts.sales import reports as report_contract
from guanxi_common.contracts.sales.periods import Period
from guanxi_common.errors import ServiceUnavailable, ValidationFailed
from guanxi_common.testing.contracts import valid
from sales.application import activities, billing, opportunities, orders, products, quotes, replica
from sales.entrypoints import replica as replica_entrypoints
from sales.queries import activities as activity_queries
from sales.queries import billing as billing_queries
from sales.queries import opportunities as opportunity_queries
from sales.queries import orders as order_queries
from sales.queries import products as product_queries
from sales.queries import quotes as quote_queries
from sales.queries import replica as replica_queries
from sales.queries import reports
from sales.service import SalesService

from sales_testkit import add_customer, fake_sales_uow


@pytest.fixture
def uow():
    fake = fake_sales_uow()
    yield fake
    fake.close()


@pytest.fixture
def customer(uow):
    with uow:
        return add_customer(uow.session, credit_limit="1000.00", credit_policy="block")


@pytest.fixture
def service(uow):
    return worker_factory(SalesService, uow=uow, customer_rpc=MagicMock())


def make_product(service, sku="TEA-1", price="100.00"):
    return service.create_product({"sku": sku, "name": "铁观音", "list_price": price,
                                   "unit_cost": "55.00"})


def test_products_parse_call_and_dump(service, calls):
    for module, name in ((products, "create_product"), (products, "update_product"),
                         (products, "deactivate_product"), (product_queries, "list_products")):
        calls.watch(module, name)
    created = make_product(service, sku=" tea-1 ")
    assert calls[0][1][1]["unit"] == "pcs"  # the contract's default, parsed before the command
    assert valid(product_contract.ProductOut, created)["sku"] == "TEA-1"
    assert service.update_product("TEA-1", {"name": "铁观音 1kg"})["name"] == "铁观音 1kg"
    assert service.deactivate_product("TEA-1")["active"] is False
    page = service.list_products({"active": None, "page_size": 500})
    assert page["total"] == 1 and valid(product_contract.ProductOut, page["items"], many=True)
    assert calls.names() == ["application.products.create_product",
                             "application.products.update_product",
                             "application.products.deactivate_product",
                             "application.products.update_product",
                             "queries.products.list_products"]
    with pytest.raises(ValidationFailed) as err:
        service.list_products({"page_size": 501})
    assert list(err.value.details) == ["page_size"]


def test_opportunities_and_the_pipeline(service, uow, customer, calls):
    for module, name in ((opportunities, "create_opportunity"), (opportunities, "move_stage"),
                         (opportunities, "win"), (opportunity_queries, "get_opportunity"),
                         (opportunity_queries, "list_opportunities"),
                         (opportunity_queries, "pipeline")):
        calls.watch(module, name)
    stages = valid(opportunity_contract.StageOut, service.pipeline(), many=True)
    assert [s["code"] for s in stages][:2] == ["lead", "qualified"]
    opp = service.create_opportunity({"customer": customer.number, "title": "年度采购",
                                      "amount": "8550.00"})
    assert valid(opportunity_contract.OpportunityOut, opp)["stage"] == "lead"
    moved = service.move_opportunity_stage(opp["number"], " proposal ")
    assert calls[2][1][2] == "proposal"  # the argument trimmed by the entrypoint
    assert [h["stage"] for h in moved["stage_history"]] == ["lead", "proposal"]
    assert service.win_opportunity(opp["number"])["status"] == "won"
    assert service.get_opportunity(opp["number"])["number"] == opp["number"]
    listed = service.list_opportunities({"status": "won"})
    assert valid(opportunity_contract.OpportunitySummaryOut, listed["items"], many=True)
    assert uow.event_types() == ["opportunity.stage_changed", "opportunity.stage_changed",
                                 "opportunity.won"]
    assert calls.names()[:3] == ["queries.opportunities.pipeline",
                                 "application.opportunities.create_opportunity",
                                 "application.opportunities.move_stage"]
    assert "queries.opportunities.list_opportunities" in calls.names()


def test_quotes_accept_into_an_order(service, uow, customer, calls):
    for module, name in ((quotes, "create_quote"), (quotes, "send_quote"),
                         (quotes, "accept_quote"), (quote_queries, "get_quote")):
        calls.watch(module, name)
    make_product(service)
    quote = service.create_quote({"customer": customer.number,
                                  "lines": [{"product": "TEA-1", "quantity": "2"}]})
    assert valid(quote_contract.QuoteOut, quote)["status"] == "draft"
    assert service.send_quote(quote["number"])["status"] == "sent"
    accepted = service.accept_quote(quote["number"])
    assert valid(quote_contract.QuoteAcceptanceOut, accepted)["order"]["status"] == "confirmed"
    assert service.get_quote(quote["id"])["order_id"] == accepted["order"]["id"]
    assert calls.names() == ["application.quotes.create_quote", "application.quotes.send_quote",
                             "application.quotes.accept_quote", "queries.quotes.get_quote"]
    assert "quote.accepted" in uow.event_types()


def test_activities_plans_and_the_agenda(service, uow, customer, calls):
    for module, name in ((activities, "log_activity"), (activities, "complete_activity"),
                         (activities, "plan_visits"), (activity_queries, "agenda"),
                         (activity_queries, "list_activities")):
        calls.watch(module, name)
    with pytest.raises(ValidationFailed) as err:
        service.log_activity({"kind": "call", "customer": customer.number, "subject": "回访"})
    assert err.value.details == {"due_at": ["due_at or done_at is required"]}
    assert calls == []  # refused by the contract, before the command
    planned = service.log_activity({"kind": "call", "customer": customer.number,
                                    "subject": "回访", "due_at": "2026-03-10T10:00:00+08:00"})
    assert valid(activity_contract.ActivityOut, planned)["due_at"].isoformat() == \
        "2026-03-10T02:00:00+00:00"
    done = service.complete_activity(planned["id"], {"outcome": "completed"})
    assert done["outcome"] == "completed" and uow.event_types() == ["activity.logged"]
    plan = service.plan_visits({"date": "2026-03-11", "visits": [{"customer": customer.number}]})
    assert valid(activity_contract.VisitPlanOut, plan)["date"] == date(2026, 3, 11)
    agenda = service.activities_today(" admin-1 ")
    assert valid(activity_contract.AgendaOut, agenda)["owner_id"] == "admin-1"
    assert service.list_activities({"open": False})["total"] == 1
    assert calls.names() == ["application.activities.log_activity",
                             "application.activities.complete_activity",
                             "application.activities.plan_visits", "queries.activities.agenda",
                             "queries.activities.list_activities"]


def test_orders_invoices_and_payments(service, uow, customer, calls):
    for module, name in ((orders, "place_order"), (orders, "ship_order"),
                         (order_queries, "get_order"), (order_queries, "list_orders"),
                         (billing, "issue_invoice"), (billing, "record_payment"),
                         (billing_queries, "get_invoice"), (billing_queries, "list_invoices")):
        calls.watch(module, name)
    make_product(service)
    placed = service.place_order({"sold_to": customer.number,
                                  "lines": [{"product": "TEA-1", "quantity": "1"}]})
    order = valid(order_contract.OrderOut, placed)
    assert order["status"] == "confirmed" and order["payer"]["number"] == customer.number
    assert calls[0][1][1]["currency"] == "CNY"  # the contract's default
    service.ship_order(placed["number"])
    listed = service.list_orders({"status": "shipped"})
    assert valid(order_contract.OrderSummaryOut, listed["items"], many=True)[0]["sold_to"] == \
        customer.number
    with pytest.raises(ValidationFailed) as err:
        service.issue_invoice(placed["number"], terms_days=400)
    assert list(err.value.details) == ["terms_days"]
    invoice = service.issue_invoice(placed["number"], 30, "2026-03-01")
    assert valid(billing_contract.InvoiceOut, invoice)["due_date"] == date(2026, 3, 31)
    payment = service.record_payment({"invoice": invoice["number"], "amount": "13.00"})
    assert valid(billing_contract.PaymentOut, payment)["invoice"] == invoice["number"]
    detail = service.get_invoice(invoice["number"])
    assert valid(billing_contract.InvoiceDetailOut, detail)["outstanding"] == 100
    assert service.get_order(placed["number"])["status"] == "invoiced"
    assert service.list_invoices({"status": "partially_paid"})["total"] == 1
    assert calls.names() == [
        "application.orders.place_order", "application.orders.ship_order",
        "queries.orders.list_orders", "application.billing.issue_invoice",
        "application.billing.record_payment", "queries.billing.get_invoice",
        "queries.orders.get_order", "queries.billing.list_invoices"]
    assert uow.event_types() == ["order.placed", "order.confirmed", "order.shipped",
                                 "invoice.issued", "payment.received"]


def test_reports_parse_their_arguments(service, calls):
    calls.watch(reports, "funnel_report")
    calls.watch(reports, "receivables_ageing")
    funnel = service.funnel_report(period="2025-Q1")
    assert isinstance(calls[0][2]["period"], Period) and calls[0][2]["currency"] == "CNY"
    assert valid(report_contract.FunnelReportOut, funnel)["period"]["key"] == "2025-Q1"
    ageing = service.receivables_ageing(as_of="2026-03-01")
    assert valid(report_contract.AgeingReportOut, ageing)["total"] == 0
    with pytest.raises(ValidationFailed) as err:
        service.sales_report(start="2026-02-01", end="2026-01-01")
    assert list(err.value.details) == ["end"]
    assert calls.names() == ["queries.reports.funnel_report", "queries.reports.receivables_ageing"]


def test_replica_events_apply_once_and_reads_dump(service, uow, customer, calls):
    calls.watch(replica, "apply_event")
    calls.watch(replica_queries, "status")
    event = {"event_id": "e-1", "type": "customer.owner_changed",
             "aggregate": {"type": "customer", "id": customer.id, "version": 1},
             "data": {"new_owner_id": "rep-9"}}
    service.on_customer_owner_changed(event)
    service.on_customer_owner_changed(event)  # a redelivery: the inbox skips it
    assert calls.names() == ["application.replica.apply_event"]
    row = valid(replica_contract.ReplicaOut, service.replica_customer(customer.number))
    assert row["owner_id"] == "rep-9"
    status = valid(replica_contract.ReplicaStatusOut, service.replica_status())
    assert status["customers"] == 1 and status["caught_up"] is False


def test_catch_up_uses_the_customer_client_and_survives_its_absence(service, uow, monkeypatch):
    monkeypatch.setattr(replica_entrypoints.eventlet, "sleep", lambda seconds: None)
    service.customer_rpc.export_batch.side_effect = ServiceUnavailable("customer is down")
    service.catch_up_replica()  # postponed, not raised
    assert service.customer_rpc.export_batch.call_count == 2  # one retry
    service.customer_rpc.export_batch.side_effect = None
    service.customer_rpc.export_batch.return_value = {"lines": [], "next_after": 0, "done": True}
    service.catch_up_replica()
    service.customer_rpc.export_batch.assert_called_with(after=0, limit=1000, format="jsonl")
    # the fake keeps its inbox in memory: the catch-up's marker is there
    assert ("customer-replica-catch-up", "sales.catch_up_replica") in uow.inbox
