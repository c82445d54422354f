"""A quote's life: draft → sent → accepted / rejected, and expiry.

An undecided quote (draft or sent) is *expired* once its ``valid_until`` office day has
passed: reads show ``expired``, and sending or accepting it is refused.
"""
from datetime import date

from guanxi_common.contracts.enums import QUOTE_STATUSES

DRAFT, SENT, ACCEPTED, REJECTED, EXPIRED = QUOTE_STATUSES
UNDECIDED = (DRAFT, SENT)
DEFAULT_VALIDITY_DAYS = 30


def effective_status(status: str, valid_until: date, today: date) -> str:
    """The stored status, or ``expired`` for an undecided quote past its validity date."""
    if status in UNDECIDED and today > valid_until:
        return EXPIRED
    return status
