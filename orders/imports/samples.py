"""Synthetic order exports in TikTok Shop's and Shopify's shapes, any size (benchmark, browser tests, demo).

``write_shopify_csv``, ``write_tiktok_csv`` and ``write_tiktok_xlsx`` write row by row (an XLSX straight
into its zip, shaped like Seller Center's: ``<dimension>``, shared strings), so a 100,000-row file costs no
more memory than a 10-row one. The same seed gives the same file, byte for byte. Orders have one to four
lines (a few more than one), and every state: unpaid and awaiting shipment, awaiting collection, shipped with
a tracking number, delivered, cancelled, and delivered orders with a returned item. Tracking numbers are UPS
``1Z`` numbers with a correct check digit. The people and addresses are made up.
"""

import csv
import io
import random
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

SHOPIFY_COLUMNS = [
    "Name",
    "Email",
    "Financial Status",
    "Paid at",
    "Fulfillment Status",
    "Fulfilled at",
    "Accepts Marketing",
    "Currency",
    "Subtotal",
    "Shipping",
    "Taxes",
    "Total",
    "Discount Code",
    "Discount Amount",
    "Shipping Method",
    "Created at",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem price",
    "Lineitem compare at price",
    "Lineitem sku",
    "Lineitem requires shipping",
    "Lineitem taxable",
    "Lineitem fulfillment status",
    "Billing Name",
    "Billing Street",
    "Billing Address1",
    "Billing Address2",
    "Billing Company",
    "Billing City",
    "Billing Zip",
    "Billing Province",
    "Billing Country",
    "Billing Phone",
    "Shipping Name",
    "Shipping Street",
    "Shipping Address1",
    "Shipping Address2",
    "Shipping Company",
    "Shipping City",
    "Shipping Zip",
    "Shipping Province",
    "Shipping Country",
    "Shipping Phone",
    "Notes",
    "Note Attributes",
    "Cancelled at",
    "Payment Method",
    "Payment Reference",
    "Refunded Amount",
    "Vendor",
    "Outstanding Balance",
    "Employee",
    "Location",
    "Device ID",
    "Id",
    "Tags",
    "Risk Level",
    "Source",
    "Lineitem discount",
    "Tax 1 Name",
    "Tax 1 Value",
    "Tax 2 Name",
    "Tax 2 Value",
    "Tax 3 Name",
    "Tax 3 Value",
    "Tax 4 Name",
    "Tax 4 Value",
    "Tax 5 Name",
    "Tax 5 Value",
    "Phone",
    "Receipt Number",
    "Duties",
    "Billing Province Name",
    "Shipping Province Name",
    "Payment ID",
    "Payment Terms Name",
    "Next Payment Due At",
    "Payment References",
]
# Files exported before 2021 stop after "Phone".
SHOPIFY_OLDER_COLUMNS = SHOPIFY_COLUMNS[: SHOPIFY_COLUMNS.index("Phone") + 1]

TIKTOK_COLUMNS = [
    "Order ID",
    "Order Status",
    "Order Substatus",
    "Cancelation/Return Type",
    "Normal or Pre-order",
    "SKU ID",
    "Seller SKU",
    "Product Name",
    "Variation",
    "Quantity",
    "Sku Quantity of return",
    "SKU Unit Original Price",
    "SKU Subtotal Before Discount",
    "SKU Platform Discount",
    "SKU Seller Discount",
    "SKU Subtotal After Discount",
    "Shipping Fee After Discount",
    "Original Shipping Fee",
    "Shipping Fee Seller Discount",
    "Shipping Fee Platform Discount",
    "Payment platform discount",
    "Taxes",
    "Order Amount",
    "Order Refund Amount",
    "Created Time",
    "Paid Time",
    "RTS Time",
    "Shipped Time",
    "Delivered Time",
    "Cancelled Time",
    "Cancel By",
    "Cancel Reason",
    "Fulfillment Type",
    "Warehouse Name",
    "Tracking ID",
    "Delivery Option",
    "Shipping Provider Name",
    "Buyer Message",
    "Buyer Username",
    "Recipient",
    "Phone #",
    "Zipcode",
    "Country",
    "State",
    "County",
    "City",
    "Districts",
    "Villages",
    "Detail Address",
    "Additional address information",
    "Payment Method",
    "Weight(kg)",
    "Product Category",
    "Package ID",
    "Seller Note",
    "Checked Status",
    "Checked Marked by",
]
TIKTOK_DESCRIPTIONS = {
    "Order ID": "Platform unique order ID.",
    "Order Status": "Current order status.",
    "Order Substatus": "Current order substatus.",
    "Cancelation/Return Type": "The type of cancellation or return.",
    "SKU ID": "Platform unique SKU ID.",
    "Seller SKU": "The SKU code set by the seller.",
    "Product Name": "Platform product name.",
    "Variation": "Platform SKU variation.",
    "Quantity": "SKU sold quantity in the order.",
    "Sku Quantity of return": "SKU returned quantity in the order.",
    "SKU Unit Original Price": "SKU unit price before discounts.",
    "Order Amount": "The total amount the buyer paid for the order.",
    "Created Time": "The time the order was placed.",
    "Tracking ID": "The order's tracking number.",
    "Shipping Provider Name": "The order's shipping provider.",
    "Package ID": "Platform unique package ID.",
}

FIRST_NAMES = [
    "Avery",
    "Blake",
    "Casey",
    "Dana",
    "Eden",
    "Finley",
    "Gray",
    "Harper",
    "Indigo",
    "Jordan",
    "Kai",
    "Logan",
    "Morgan",
    "Noor",
    "Oakley",
    "Parker",
    "Quinn",
    "Reese",
    "Sage",
    "Tatum",
    "Uma",
    "Val",
    "Wren",
    "Yael",
    "Zion",
]
LAST_NAMES = [
    "Abbott",
    "Bishop",
    "Calder",
    "Dunmore",
    "Ellery",
    "Farrow",
    "Garrick",
    "Hollis",
    "Ingram",
    "Jessup",
    "Kenning",
    "Lowry",
    "Marsh",
    "Norcott",
    "Oswin",
    "Pryor",
    "Quarles",
    "Rowan",
    "Stroud",
    "Thorne",
    "Upton",
    "Voss",
    "Whitlock",
    "Yardley",
]
STREETS = [
    "Alder",
    "Birch",
    "Cedar",
    "Dogwood",
    "Elm",
    "Fir",
    "Hazel",
    "Juniper",
    "Laurel",
    "Maple",
    "Oak",
    "Pine",
    "Spruce",
    "Willow",
]
PLACES = (  # city, state, state name, zip prefix
    ("Springfield", "IL", "Illinois", "627"),
    ("Portland", "OR", "Oregon", "972"),
    ("Austin", "TX", "Texas", "787"),
    ("Madison", "WI", "Wisconsin", "537"),
    ("Burlington", "VT", "Vermont", "054"),
    ("Boise", "ID", "Idaho", "837"),
    ("Newark", "NJ", "New Jersey", "071"),
    ("Tucson", "AZ", "Arizona", "857"),
)
PRODUCTS = (  # seller sku, name, variants, price
    ("TEE-ORG", "Organic Cotton Tee", ("Black / S", "Black / M", "Sand / L"), Decimal("24.00")),
    ("HOOD-ZIP", "Zip Hoodie", ("Navy / M", "Grey / L"), Decimal("58.00")),
    ("MUG-12", "Stoneware Mug 12oz", ("Speckled", "Matte Black"), Decimal("18.50")),
    ("SOCK-3PK", "Wool Socks 3-Pack", ("M", "L"), Decimal("21.00")),
    ("TOTE-CNV", "Canvas Tote", ("Natural",), Decimal("16.00")),
    ("CAP-DAD", "Washed Cap", ("Olive", "Stone"), Decimal("22.00")),
    ("CANDLE-FIG", "Fig Soy Candle", ("8oz",), Decimal("19.99")),
)
# kind → (TikTok status, substatus), Shopify (financial, fulfillment), weight
KINDS = (
    ("unpaid", ("Unpaid", "Unpaid"), ("pending", "unfulfilled"), 3),
    ("to_ship", ("To ship", "Awaiting shipment"), ("paid", "unfulfilled"), 14),
    ("collection", ("To ship", "Awaiting collection"), ("paid", "partial"), 5),
    ("shipped", ("Shipped", "In transit"), ("paid", "fulfilled"), 20),
    ("delivered", ("Completed", "Completed"), ("paid", "fulfilled"), 45),
    ("returned", ("Completed", "Completed"), ("partially_refunded", "fulfilled"), 4),
    ("cancelled", ("Cancelled", "Cancelled"), ("voided", "unfulfilled"), 9),
)
CENT = Decimal("0.01")
TAX_RATE = Decimal("0.08")


@dataclass
class SampleLine:
    sku: str
    name: str
    variant: str
    quantity: int
    unit_price: Decimal
    returned: int = 0


@dataclass
class SampleOrder:
    number: int
    kind: str
    first_name: str
    last_name: str
    email: str
    phone: str
    street: str
    city: str
    state: str
    state_name: str
    zip: str
    placed_at: datetime
    lines: list[SampleLine] = field(default_factory=list)
    discount: Decimal = Decimal("0.00")
    shipping: Decimal = Decimal("0.00")
    tracking_number: str = ""
    note: str = ""

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def items_total(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal("0.00"))

    @property
    def subtotal(self) -> Decimal:
        return self.items_total - self.discount

    @property
    def tax(self) -> Decimal:
        return (self.subtotal * TAX_RATE).quantize(CENT)

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.shipping + self.tax

    @property
    def paid_at(self) -> datetime | None:
        return None if self.kind == "unpaid" else self.placed_at + timedelta(minutes=1)

    @property
    def shipped_at(self) -> datetime | None:
        if self.kind in ("shipped", "delivered", "returned"):
            return self.placed_at + timedelta(days=1, hours=3)
        return None

    @property
    def delivered_at(self) -> datetime | None:
        return self.placed_at + timedelta(days=4, hours=5) if self.kind in ("delivered", "returned") else None

    @property
    def cancelled_at(self) -> datetime | None:
        return self.placed_at + timedelta(hours=2) if self.kind == "cancelled" else None


@dataclass
class SampleSummary:
    orders: int
    rows: int


def ups_tracking_number(rng: random.Random) -> str:
    """A UPS ``1Z`` number (shipper, service, package) with its mod-10 check digit."""
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    body = (
        "".join(rng.choice(alphabet) for _ in range(6))
        + "03"
        + "".join(rng.choice("0123456789") for _ in range(7))
    )
    return f"1Z{body}{ups_check_digit(body)}"


def ups_check_digit(body: str) -> int:
    total = 0
    for position, char in enumerate(body):
        value = int(char) if char.isdigit() else (ord(char.upper()) - 63) % 10
        total += value * (2 if position % 2 else 1)
    return (10 - total % 10) % 10


def sample_orders(*, orders: int, seed: int, rows: int | None = None) -> Iterator[SampleOrder]:
    """``orders`` made-up orders; with ``rows``, as many as fill exactly that many line rows instead."""
    rng = random.Random(seed)
    kinds = [kind for kind, *_rest in KINDS]
    weights = [weight for *_rest, weight in KINDS]
    moment = datetime(2026, 1, 5, 8, 0)
    made = rows_made = 0
    while (rows is None and made < orders) or (rows is not None and rows_made < rows):
        made += 1
        moment += timedelta(minutes=rng.randint(3, 90), seconds=rng.randint(0, 59))
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        city, state, state_name, zip_prefix = rng.choice(PLACES)
        kind = rng.choices(kinds, weights)[0]
        order = SampleOrder(
            number=1000 + made,
            kind=kind,
            first_name=first,
            last_name=last,
            email=f"{first}.{last}{made}@example.com".lower(),
            phone=f"+1555{rng.randint(1000000, 9999999)}",
            street=f"{rng.randint(10, 9999)} {rng.choice(STREETS)} St",
            city=city,
            state=state,
            state_name=state_name,
            zip=f"{zip_prefix}{rng.randint(0, 99):02d}",
            placed_at=moment,
            shipping=rng.choice((Decimal("0.00"), Decimal("4.99"), Decimal("7.50"))),
        )
        line_count = rng.choices((1, 2, 3, 4), (70, 20, 7, 3))[0]
        if rows is not None:
            line_count = min(line_count, rows - rows_made)
        for product in rng.sample(PRODUCTS, line_count):
            sku, name, variants, price = product
            variant = rng.choice(variants)
            order.lines.append(
                SampleLine(
                    sku=f"{sku}-{variant.split(' ')[0].upper()}",
                    name=name,
                    variant=variant,
                    quantity=rng.choices((1, 2, 3), (80, 15, 5))[0],
                    unit_price=price,
                )
            )
        if kind == "returned":
            order.lines[0].returned = 1
        if rng.random() < 0.15:
            order.discount = (order.items_total * Decimal("0.10")).quantize(CENT)
        if order.shipped_at:
            order.tracking_number = ups_tracking_number(rng)
        if rng.random() < 0.05:
            order.note = "Please leave it by the side door.\nThank you!"
        rows_made += len(order.lines)
        yield order


class _TextTarget:
    """A path, a text file or a binary file, written as text without closing what the caller opened."""

    def __init__(self, path_or_file, *, bom: bool):
        self.path_or_file, self.bom = path_or_file, bom

    def __enter__(self):
        encoding = "utf-8-sig" if self.bom else "utf-8"
        if isinstance(self.path_or_file, (str, Path)):
            self.stream = self.owned = open(self.path_or_file, "w", encoding=encoding, newline="")
        elif isinstance(self.path_or_file, io.TextIOBase):
            self.stream, self.owned = self.path_or_file, None
            if self.bom:
                self.stream.write("\ufeff")
        else:
            self.stream = self.owned = io.TextIOWrapper(self.path_or_file, encoding=encoding, newline="")
        return self.stream

    def __exit__(self, *exc):
        if self.owned is None:
            return
        if isinstance(self.path_or_file, (str, Path)):
            self.owned.close()
        else:
            self.owned.flush()
            self.owned.detach()


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


# Shopify -----------------------------------------------------------------------------------------------


def write_shopify_csv(
    path_or_file,
    orders: int = 100,
    *,
    seed: int = 1,
    rows: int | None = None,
    columns=SHOPIFY_COLUMNS,
    line_ending: str = "\n",
    bom: bool = False,
) -> SampleSummary:
    """A Shopify ``orders_export_1.csv``: one row per line item, order fields on the first row only."""
    made = written = 0
    with _TextTarget(path_or_file, bom=bom) as stream:
        writer = csv.DictWriter(
            stream, fieldnames=list(columns), extrasaction="ignore", lineterminator=line_ending
        )
        writer.writeheader()
        for order in sample_orders(orders=orders, seed=seed, rows=rows):
            made += 1
            for index, line in enumerate(order.lines):
                writer.writerow(_shopify_row(order, line, first=index == 0))
                written += 1
    return SampleSummary(orders=made, rows=written)


def _shopify_time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S -0500") if moment else ""


def _shopify_row(order: SampleOrder, line: SampleLine, *, first: bool) -> dict:
    financial, fulfillment = next((shopify for kind, _t, shopify, _w in KINDS if kind == order.kind))
    row = {
        "Name": f"#{order.number}",
        "Email": order.email,
        "Created at": _shopify_time(order.placed_at),
        "Lineitem quantity": line.quantity,
        "Lineitem name": f"{line.name} - {line.variant}",
        "Lineitem price": _money(line.unit_price),
        "Lineitem compare at price": "",
        "Lineitem sku": line.sku,
        "Lineitem requires shipping": "true",
        "Lineitem taxable": "true",
        "Lineitem fulfillment status": "fulfilled" if fulfillment == "fulfilled" else "pending",
        "Lineitem discount": "0.00",
        "Vendor": "Demo Threads",
    }
    if not first:
        return row
    tiktok_id = tiktok_order_id(order)
    from_tiktok = order.number % 10 == 3
    zip_code = f"'{order.zip}"
    row.update(
        {
            "Financial Status": financial,
            "Paid at": _shopify_time(order.paid_at),
            "Fulfillment Status": fulfillment,
            "Fulfilled at": _shopify_time(order.shipped_at),
            "Accepts Marketing": "no",
            "Currency": "USD",
            "Subtotal": _money(order.subtotal),
            "Shipping": _money(order.shipping),
            "Taxes": _money(order.tax),
            "Total": _money(order.total),
            "Discount Code": "WELCOME10" if order.discount else "",
            "Discount Amount": _money(order.discount),
            "Shipping Method": "Standard",
            "Billing Name": order.name,
            "Billing Street": order.street,
            "Billing Address1": order.street,
            "Billing City": order.city,
            "Billing Zip": zip_code,
            "Billing Province": order.state,
            "Billing Country": "US",
            "Billing Phone": order.phone,
            "Shipping Name": order.name,
            "Shipping Street": order.street,
            "Shipping Address1": order.street,
            "Shipping City": order.city,
            "Shipping Zip": zip_code,
            "Shipping Province": order.state,
            "Shipping Country": "US",
            "Shipping Phone": order.phone,
            "Notes": order.note,
            "Cancelled at": _shopify_time(order.cancelled_at),
            "Payment Method": "Shopify Payments",
            "Payment Reference": f"c{order.number}.1",
            "Refunded Amount": _money(order.lines[0].unit_price if order.kind == "returned" else Decimal(0)),
            "Outstanding Balance": "0.00",
            "Id": str(5_100_000_000_000 + order.number),
            "Tags": f"TikTok, TikTokOrderID:{tiktok_id}" if from_tiktok else "",
            "Risk Level": "Low",
            "Source": "tiktok" if from_tiktok else "web",
            "Tax 1 Name": "State Tax 8%",
            "Tax 1 Value": _money(order.tax),
            "Billing Province Name": order.state_name,
            "Shipping Province Name": order.state_name,
            "Payment ID": f"p{order.number}",
            "Payment References": f"p{order.number}",
        }
    )
    return row


# TikTok Shop -------------------------------------------------------------------------------------------


def tiktok_order_id(order: SampleOrder) -> str:
    return str(576_000_000_000_000_000 + order.number * 7919)


def _tiktok_time(moment: datetime | None, *, us: bool) -> str:
    if moment is None:
        return ""
    if us:
        meridiem = "AM" if moment.hour < 12 else "PM"
        return f"{moment:%m/%d/%Y} {moment.hour % 12 or 12}:{moment:%M:%S} {meridiem}"
    return f"{moment:%d/%m/%Y %H:%M:%S}"


def _tiktok_rows(order: SampleOrder, *, us_dates: bool, tab_after_ids: bool) -> Iterator[dict]:
    status, substatus = next((tiktok for kind, tiktok, _s, _w in KINDS if kind == order.kind))
    order_id = tiktok_order_id(order) + ("\t" if tab_after_ids else "")
    discount_left = order.discount
    refund = Decimal(0)
    if order.kind == "returned":
        refund = order.lines[0].unit_price
    elif order.kind == "cancelled" and order.paid_at:
        refund = order.total
    for index, line in enumerate(order.lines):
        before = line.unit_price * line.quantity
        if index == len(order.lines) - 1:
            seller_discount = discount_left
        else:  # the order's discount shared in proportion to the lines' prices
            seller_discount = (order.discount * before / order.items_total).quantize(CENT)
        discount_left -= seller_discount
        return_type = "Return/Refund" if line.returned else ("Cancel" if order.kind == "cancelled" else "")
        package_id = ""
        if order.tracking_number:
            package_id = str(1_153_000_000_000_000_000 + order.number) + ("\t" if tab_after_ids else "")
        yield {
            "Order ID": order_id,
            "Order Status": status,
            "Order Substatus": substatus,
            "Cancelation/Return Type": return_type,
            "Normal or Pre-order": "Normal",
            "SKU ID": str(1_729_000_000_000_000_000 + hash_sku(line.sku)),
            "Seller SKU": line.sku,
            "Product Name": line.name,
            "Variation": line.variant,
            "Quantity": line.quantity,
            "Sku Quantity of return": line.returned,
            "SKU Unit Original Price": _money(line.unit_price),
            "SKU Subtotal Before Discount": _money(before),
            "SKU Platform Discount": "0.00",
            "SKU Seller Discount": _money(seller_discount),
            "SKU Subtotal After Discount": _money(before - seller_discount),
            "Shipping Fee After Discount": _money(order.shipping),
            "Original Shipping Fee": _money(order.shipping),
            "Shipping Fee Seller Discount": "0.00",
            "Shipping Fee Platform Discount": "0.00",
            "Payment platform discount": "0.00",
            "Taxes": _money(order.tax),
            "Order Amount": _money(order.total),
            "Order Refund Amount": _money(refund),
            "Created Time": _tiktok_time(order.placed_at, us=us_dates),
            "Paid Time": _tiktok_time(order.paid_at, us=us_dates),
            "RTS Time": _tiktok_time(order.shipped_at, us=us_dates),
            "Shipped Time": _tiktok_time(order.shipped_at, us=us_dates),
            "Delivered Time": _tiktok_time(order.delivered_at, us=us_dates),
            "Cancelled Time": _tiktok_time(order.cancelled_at, us=us_dates),
            "Cancel By": "User" if order.kind == "cancelled" else "",
            "Cancel Reason": "No longer needed" if order.kind == "cancelled" else "",
            "Fulfillment Type": "Fulfillment by seller",
            "Warehouse Name": "Main warehouse",
            "Tracking ID": order.tracking_number,
            "Delivery Option": "Standard shipping",
            "Shipping Provider Name": "UPS" if order.tracking_number else "",
            "Buyer Message": order.note,
            "Buyer Username": f"{order.first_name.lower()}_{order.number}",
            "Recipient": order.name,
            "Phone #": f"(+1){order.phone[2:5]}*****{order.phone[-2:]}",
            "Zipcode": order.zip,
            "Country": "United States",
            "State": order.state_name,
            "County": "",
            "City": order.city,
            "Detail Address": order.street,
            "Additional address information": "",
            "Payment Method": "Credit card" if order.paid_at else "",
            "Weight(kg)": "0.4",
            "Product Category": "Apparel",
            "Package ID": package_id,
            "Seller Note": "",
            "Checked Status": "Unchecked",
            "Checked Marked by": "",
        }


def hash_sku(sku: str) -> int:
    return sum(ord(char) * 31**index for index, char in enumerate(sku)) % 1_000_000


def write_tiktok_csv(
    path_or_file,
    orders: int = 100,
    *,
    seed: int = 1,
    rows: int | None = None,
    description_row: bool = True,
    us_dates: bool = True,
    tab_after_ids: bool = True,
    line_ending: str = "\r\n",
    bom: bool = True,
) -> SampleSummary:
    """A TikTok Shop Seller Center ``All order`` CSV: one row per SKU line, order fields on every row."""
    made = written = 0
    with _TextTarget(path_or_file, bom=bom) as stream:
        writer = csv.DictWriter(stream, fieldnames=TIKTOK_COLUMNS, lineterminator=line_ending)
        writer.writeheader()
        if description_row:
            writer.writerow(TIKTOK_DESCRIPTIONS)
        for order in sample_orders(orders=orders, seed=seed, rows=rows):
            made += 1
            for row in _tiktok_rows(order, us_dates=us_dates, tab_after_ids=tab_after_ids):
                writer.writerow(row)
                written += 1
    return SampleSummary(orders=made, rows=written)


def write_tiktok_xlsx(
    path_or_file,
    orders: int = 100,
    *,
    seed: int = 1,
    rows: int | None = None,
    description_row: bool = True,
    us_dates: bool = True,
    tab_after_ids: bool = False,
) -> SampleSummary:
    """A TikTok Shop ``To Ship`` XLSX (sheet ``OrderSKUList``, every cell text), shaped like Seller Center's:
    the sheet states its size in ``<dimension>``, repeated texts are in the shared strings table, blank cells
    are left out. Written row by row straight into the zip (see ``_XlsxSheetWriter``)."""
    made = 0
    written = sum(len(order.lines) for order in sample_orders(orders=orders, seed=seed, rows=rows))
    last_row = 1 + int(description_row) + written
    with _XlsxSheetWriter(path_or_file, "OrderSKUList", TIKTOK_COLUMNS, last_row=last_row) as sheet:
        sheet.append(TIKTOK_COLUMNS, shared=True)
        if description_row:
            sheet.append([TIKTOK_DESCRIPTIONS.get(name, "") for name in TIKTOK_COLUMNS], shared=True)
        for order in sample_orders(orders=orders, seed=seed, rows=rows):
            made += 1
            for row in _tiktok_rows(order, us_dates=us_dates, tab_after_ids=tab_after_ids):
                sheet.append([str(row.get(name, "")) for name in TIKTOK_COLUMNS])
    return SampleSummary(orders=made, rows=written)


# XLSX --------------------------------------------------------------------------------------------------

# Columns whose texts differ on (nearly) every order: written inline, so the shared strings table holds only
# the texts that repeat (statuses, products, places, prices) and stays small whatever the file's size.
TIKTOK_UNIQUE_COLUMNS = frozenset(
    {
        "Order ID",
        "Created Time",
        "Paid Time",
        "RTS Time",
        "Shipped Time",
        "Delivered Time",
        "Cancelled Time",
        "Tracking ID",
        "Buyer Username",
        "Recipient",
        "Phone #",
        "Zipcode",
        "Detail Address",
        "Package ID",
    }
)
SHARED_STRINGS_LIMIT = 50_000  # a new text after this many is written inline: memory stays bounded
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # a fixed timestamp: the same rows give the same bytes
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_DOC_RELS_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{_PACKAGE_RELS_NS}">'
        f'<Relationship Id="rId1" Type="{_DOC_RELS_NS}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{_MAIN_NS}" xmlns:r="{_DOC_RELS_NS}"><sheets>'
        '<sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{_PACKAGE_RELS_NS}">'
        f'<Relationship Id="rId1" Type="{_DOC_RELS_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_DOC_RELS_NS}/sharedStrings" Target="sharedStrings.xml"/>'
        f'<Relationship Id="rId3" Type="{_DOC_RELS_NS}/styles" Target="styles.xml"/>'
        "</Relationships>"
    ),
    "xl/styles.xml": (
        f'<styleSheet xmlns="{_MAIN_NS}">'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
}
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def column_letters(position: int) -> str:
    """``0`` → ``A``, ``26`` → ``AA``: a spreadsheet column's name from its 0-based position."""
    letters = ""
    position += 1
    while position:
        position, remainder = divmod(position - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml_t(text: str) -> str:
    space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
    return f"<t{space}>{_xml_text(text)}</t>"


class _XlsxSheetWriter:
    """One sheet of text cells written as an XLSX package, the sheet's rows streamed into the zip.

    ``last_row`` is given up front so that ``<dimension>`` can come first, where readers look for it. Texts
    of the columns not in ``TIKTOK_UNIQUE_COLUMNS`` go to the shared strings table (up to
    ``SHARED_STRINGS_LIMIT``), the others inline; empty cells are left out, as spreadsheet programs do.
    """

    def __init__(self, path_or_file, title: str, columns: list[str], *, last_row: int):
        self.path_or_file, self.title, self.last_row = path_or_file, title, last_row
        self.letters = [column_letters(position) for position in range(len(columns))]
        self.shared_columns = [name not in TIKTOK_UNIQUE_COLUMNS for name in columns]
        self.shared: dict[str, int] = {}
        self.shared_uses = 0
        self.number = 0

    def __enter__(self):
        self.archive = zipfile.ZipFile(self.path_or_file, "w", zipfile.ZIP_DEFLATED)
        self.stream = io.TextIOWrapper(
            self.archive.open(self._entry("xl/worksheets/sheet1.xml"), "w"), encoding="utf-8", newline=""
        )
        self.stream.write(
            f'{_XML_DECLARATION}<worksheet xmlns="{_MAIN_NS}">'
            f'<dimension ref="A1:{self.letters[-1]}{self.last_row}"/><sheetData>'
        )
        return self

    def append(self, cells: list[str], *, shared: bool = False) -> None:
        """One row; ``shared=True`` puts all its texts in the shared strings (the header, say)."""
        self.number += 1
        number, out = self.number, []
        columns_shared = [True] * len(cells) if shared else self.shared_columns
        for letter, shared, text in zip(self.letters, columns_shared, cells, strict=False):
            if not text:
                continue
            index = self.shared.get(text) if shared else None
            if index is None and shared and len(self.shared) < SHARED_STRINGS_LIMIT:
                index = self.shared[text] = len(self.shared)
            if index is None:
                out.append(f'<c r="{letter}{number}" t="inlineStr"><is>{_xml_t(text)}</is></c>')
            else:
                self.shared_uses += 1
                out.append(f'<c r="{letter}{number}" t="s"><v>{index}</v></c>')
        self.stream.write(f'<row r="{number}">{"".join(out)}</row>')

    def __exit__(self, *exc):
        try:
            if exc[0] is None:
                self._finish()
        finally:
            self.archive.close()

    def _finish(self) -> None:
        if self.number != self.last_row:
            raise ValueError(f"{self.number} rows written, {self.last_row} announced")
        self.stream.write("</sheetData></worksheet>")
        self.stream.close()
        for name, xml in _XLSX_PARTS.items():
            xml = xml.replace("{sheet}", _xml_text(self.title).replace('"', "&quot;"))
            self.archive.writestr(self._entry(name), _XML_DECLARATION + xml)
        with io.TextIOWrapper(
            self.archive.open(self._entry("xl/sharedStrings.xml"), "w"), encoding="utf-8", newline=""
        ) as strings:
            strings.write(
                f'{_XML_DECLARATION}<sst xmlns="{_MAIN_NS}" count="{self.shared_uses}" '
                f'uniqueCount="{len(self.shared)}">'
            )
            for text in self.shared:  # in index order: dicts keep insertion order
                strings.write(f"<si>{_xml_t(text)}</si>")
            strings.write("</sst>")

    @staticmethod
    def _entry(name: str) -> zipfile.ZipInfo:
        entry = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
        entry.compress_type = zipfile.ZIP_DEFLATED
        return entry
