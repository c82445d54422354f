"""Closed value sets shared by the services and the gateway (plain tuples, no marshmallow),
so a gateway enum, an OpenAPI ``enum`` and the service's own check are the same tuple."""

# ---- customers (owned by the customer service) --------------------------------------------
PARTY_TYPES = ("person", "company")
#: statuses a client may set; ``merged`` and ``erased`` are reached only by merge and erase
PUBLIC_CUSTOMER_STATUSES = ("prospect", "active", "lost", "blocked")
INTERNAL_CUSTOMER_STATUSES = ("merged", "erased")
CUSTOMER_STATUSES = PUBLIC_CUSTOMER_STATUSES + INTERNAL_CUSTOMER_STATUSES
#: ABC classification: A key account, B important, C standard
CUSTOMER_TIERS = ("A", "B", "C")
#: what an order beyond the credit limit does: no check, accept with a warning, refuse
CREDIT_POLICIES = ("none", "warn", "block")
GENDERS = ("male", "female", "other", "unknown")
MARITAL_STATUSES = ("single", "married", "divorced", "widowed", "unknown")
ADDRESS_TYPES = ("registered", "office", "billing", "shipping", "home", "other")
EXPORT_FORMATS = ("jsonl", "csv")

# ---- sales (owned by the sales service) ---------------------------------------------------
#: an order's lifecycle (sales.domain.orders holds the transitions between them)
ORDER_STATES = ("credit_hold", "confirmed", "shipped", "invoiced", "paid", "closed",
                "cancelled")
#: the states of an order still in progress (what a Customer 360 lists as open)
OPEN_ORDER_STATES = ("credit_hold", "confirmed", "shipped", "invoiced")
#: what the credit check decided for an order
CREDIT_OUTCOMES = ("pass", "warn", "hold")
#: who an order involves: the buyer, the receiver, the one invoiced and the one who pays
PARTNER_FUNCTIONS = ("sold_to", "ship_to", "bill_to", "payer")
INVOICE_STATUSES = ("open", "partially_paid", "paid")
#: invoices with an amount outstanding
UNPAID_INVOICE_STATUSES = ("open", "partially_paid")
PAYMENT_METHODS = ("bank_transfer", "cash", "cheque", "card", "alipay", "wechat_pay",
                   "acceptance_bill", "other")
OPPORTUNITY_STATUSES = ("open", "won", "lost")
#: ``expired`` is never stored: an undecided quote past its validity date reads so
QUOTE_STATUSES = ("draft", "sent", "accepted", "rejected", "expired")
ACTIVITY_KINDS = ("call", "visit", "meeting", "task")
ACTIVITY_OUTCOMES = ("completed", "no_answer", "follow_up", "not_interested", "rescheduled",
                     "cancelled")
#: days past due of a receivable, as the ageing report buckets them
AGEING_BUCKETS = ("0-30", "31-60", "61-90", "90+")
