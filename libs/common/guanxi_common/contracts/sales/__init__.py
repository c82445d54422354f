"""The sales service's wire contracts, one module per area.

- ``products``, ``opportunities`` (pipeline and opportunities), ``quotes``,
  ``activities``, ``orders``, ``billing`` (invoices and payments), ``reports``
  (with ``periods``, the office calendar a report period key names): RPC inputs (``...Schema``
  / ``...In`` / ``...Args``) and outputs (``...Out``);
- ``events``: the payloads of the events sales emits, versioned;
- ``replica``: what sales reads from the customer events and export (its consumer
  schemas) and the replica row it answers with.

Inputs refuse unknown fields and name the field of each error; money is a decimal string
with at most 2 places (a third is an error, never rounded away), rates are fractions
(13 % = 0.13) with at most 4, quantities at most 3, times ISO 8601 with an offset. Outputs
dump money as strings and times as UTC ISO 8601, and pass values that already crossed RPC
as JSON through unchanged, so the gateway dumps an RPC answer with the same schema.
"""
