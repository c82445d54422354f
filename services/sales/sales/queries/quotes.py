"""Reading quotes: whoever may see the quote's customer's records."""
from sales.access import ensure_quote_read
from sales.adapters.repository import find_quote


def get_quote(session, actor, ref):
    quote = find_quote(session, ref)
    ensure_quote_read(session, actor, quote)
    return quote
