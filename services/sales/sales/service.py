"""The sales service: funnel, quotes, orders with credit control, receivables, activities.

One Nameko service composed of entrypoint mixins, one per area (sales/entrypoints/);
the RPC contract is documented in docs/rpc/sales.md.
"""
from guanxi_common.chassis import ServiceBase
from sales.base import SalesDependencies
from sales.entrypoints.funnel import FunnelEntrypoints
from sales.entrypoints.orders import OrderEntrypoints
from sales.entrypoints.replica import ReplicaEntrypoints
from sales.entrypoints.reports import ReportEntrypoints


class SalesService(SalesDependencies, ServiceBase, ReplicaEntrypoints, FunnelEntrypoints,
                   OrderEntrypoints, ReportEntrypoints):
    name = "sales"
