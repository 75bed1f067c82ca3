"""The platforms' status texts → Shipshape's ``OrderStatus``.

A status text is what the parser puts in ``ImportedOrder.status_text``:

- **TikTok Shop**: the display text of ``Order Status``, followed by ``Order Substatus`` when the file has one
  that says more (``"Shipped / In transit"``). The substatus is the more precise of the two, so it is looked
  up first, then the status, then the whole text.
- **Shopify**: a text ``shopify.status_text`` builds from the columns (the export has no single status):
  ``cancelled`` when ``Cancelled at`` is set; otherwise the ``Fulfillment Status`` (``fulfilled``,
  ``partial``, ``unfulfilled``, ``restocked``), with ``, refunded`` or ``, voided`` added to an unfulfilled
  order whose money went back (``"unfulfilled, refunded"``).

The built-in tables below hold the English texts. A text they do not know (a status in the seller's
language, a new one) gives ``None``: the applier asks the seller once and remembers the answer in
``ImportStatusMapping``, keyed by ``normalise_status_text``.

Decisions worth knowing:

- Shopify's export has no "delivered": ``fulfilled`` means the parcels left, so it maps to *shipped*.
  ``restocked`` is what Shopify shows when every item went back to stock with the order cancelled:
  *cancelled*. An unfulfilled order that was refunded or voided was called off: *cancelled*.
- TikTok's ``Completed`` means delivered and past the return window: *delivered*. Returns are never a status
  here: a TikTok line carries ``returned_quantity`` (``Sku Quantity of return``) and the applier records a
  return for it, after which the order may become *returned* through the state machine.
"""

import re

from ..models.imports import ImportSource
from ..states import OrderStatus

S = OrderStatus

_SPACES = re.compile(r"\s+")


def normalise_status_text(text: str) -> str:
    """The form status texts are compared and remembered in: case-folded, spaces collapsed, trimmed."""
    return _SPACES.sub(" ", str(text or "")).strip().casefold()


TIKTOK_STATUSES: dict[str, str] = {
    # Order Status
    "unpaid": S.PENDING,
    "awaiting payment": S.PENDING,
    "on hold": S.PENDING,
    "to ship": S.PENDING,
    "awaiting shipment": S.PENDING,
    "awaiting fulfillment": S.PENDING,
    "ready to ship": S.PROCESSED,
    "awaiting collection": S.PROCESSED,
    "awaiting pickup": S.PROCESSED,
    "partially shipped": S.PROCESSED,
    "partially shipping": S.PROCESSED,
    "shipped": S.SHIPPED,
    "in transit": S.SHIPPED,
    "out for delivery": S.SHIPPED,
    "delivered": S.DELIVERED,
    "completed": S.DELIVERED,
    "complete": S.DELIVERED,
    "cancelled": S.CANCELLED,
    "canceled": S.CANCELLED,
    "cancellation": S.CANCELLED,
    "cancelled by buyer": S.CANCELLED,
    "cancelled by seller": S.CANCELLED,
    "cancelled by system": S.CANCELLED,
}

SHOPIFY_STATUSES: dict[str, str] = {
    "cancelled": S.CANCELLED,
    "restocked": S.CANCELLED,
    "unfulfilled, refunded": S.CANCELLED,
    "unfulfilled, voided": S.CANCELLED,
    "unfulfilled": S.PENDING,
    "partial": S.PROCESSED,
    "fulfilled": S.SHIPPED,
}

BUILTIN_STATUSES: dict[str, dict[str, str]] = {
    ImportSource.TIKTOK: TIKTOK_STATUSES,
    ImportSource.SHOPIFY: SHOPIFY_STATUSES,
}

TIKTOK_STATUS_SEPARATOR = " / "


def tiktok_status_text(status: str, substatus: str) -> str:
    """``Order Status`` and ``Order Substatus`` as one text; the substatus only when it says more."""
    status, substatus = status.strip(), substatus.strip()
    if not substatus or normalise_status_text(substatus) == normalise_status_text(status):
        return status
    if not status:
        return substatus
    return f"{status}{TIKTOK_STATUS_SEPARATOR}{substatus}"


def builtin_status(source: str, status_text: str) -> str | None:
    """The ``OrderStatus`` value a platform's status text stands for, or ``None`` when it is not known."""
    table = BUILTIN_STATUSES.get(source)
    if not table:
        return None
    text = normalise_status_text(status_text)
    if not text:
        return None
    if text in table:
        return table[text]
    if source == ImportSource.TIKTOK and TIKTOK_STATUS_SEPARATOR in text:
        status, _, substatus = text.partition(TIKTOK_STATUS_SEPARATOR)
        for part in (substatus.strip(), status.strip()):
            if part in table:
                return table[part]
    return None
