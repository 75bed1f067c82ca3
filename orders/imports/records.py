"""A parsed order from a platform's export, the same shape for every platform.

The parsers (``shopify.parse``, ``tiktok.parse``) stream the file and yield one ``ImportedOrder`` per order,
grouping the adjacent rows of its lines. They never touch the database. A row they cannot read does not stop
the file: the order gets an error ``Problem`` (with the file's row number, 1 = the header, and the column) and
is reported as rejected; warnings (totals that do not add up, a missing address...) are shown in the preview
and do not block.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    level: str  # ERROR rejects the order; WARNING is shown and does not block
    message: str  # for the seller, translated (gettext) by the parser
    row: int | None = None  # the file's row number, 1 = the header row
    column: str = ""  # the column's name as in the file

    def as_dict(self) -> dict:
        return {"level": self.level, "message": str(self.message), "row": self.row, "column": self.column}


@dataclass
class ImportedLine:
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    variant: str = ""
    returned_quantity: int = 0  # TikTok's "Sku Quantity of return"


@dataclass
class ImportedParcel:
    tracking_number: str
    carrier_name: str = ""  # as the platform names it ("USPS", "J&T Express"); matched to a Carrier later
    shipped_at: datetime | None = None


@dataclass
class ImportedOrder:
    source: str  # ImportSource value: "shopify" or "tiktok"
    external_id: str  # Shopify's Name ("#1001"), TikTok's Order ID (digits, tab stripped)
    first_row: int
    last_row: int
    # The platform's status as the file says it: TikTok's "Order Status" (and substatus) display text; for
    # Shopify a text built from its columns (see shopify.py). ``statuses.builtin_status`` maps it.
    status_text: str = ""
    # Other references to the same order: Shopify rows synced from TikTok carry ("tiktok", "<TikTok id>").
    also_known_as: list[tuple[str, str]] = field(default_factory=list)
    email: str = ""
    buyer_name: str = ""
    currency: str = ""
    subtotal: Decimal | None = None
    discount: Decimal = Decimal("0.00")
    shipping_price: Decimal = Decimal("0.00")
    tax: Decimal = Decimal("0.00")
    total: Decimal | None = None
    refunded_total: Decimal = Decimal("0.00")
    coupon_code: str = ""
    payment_status_text: str = ""  # Shopify's "Financial Status"; TikTok: "paid" once "Paid Time" is set
    payment_method: str = ""
    # Aware datetimes: Shopify's carry their offset; TikTok's have none and are read in the shop's time zone.
    placed_at: datetime | None = None
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str = ""
    # Keys as orders.services.placing.ADDRESS_FIELDS: name, line1, line2, city, region, postal_code, country
    # (ISO 3166 alpha-2 when the file gives a name, e.g. "United States" → "US"), phone.
    address: dict = field(default_factory=dict)
    note: str = ""  # Shopify "Notes" / TikTok "Buyer Message"
    seller_note: str = ""  # TikTok "Seller Note"
    lines: list[ImportedLine] = field(default_factory=list)
    parcels: list[ImportedParcel] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def is_rejected(self) -> bool:
        return any(problem.level == ERROR for problem in self.problems)

    def error(self, message, *, row: int | None = None, column: str = "") -> None:
        self.problems.append(Problem(ERROR, message, row, column))

    def warn(self, message, *, row: int | None = None, column: str = "") -> None:
        self.problems.append(Problem(WARNING, message, row, column))


class UnreadableFile(Exception):
    """The whole file cannot be imported: empty, not CSV/XLSX, no known header. ``message`` is for the
    seller (translated)."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message
