"""Tracking numbers back to the platform an order came from, as a file for its bulk shipping upload.

One row per parcel with a tracking number, for every imported order of that platform that is shipped (in
transit: the platform still waits for its tracking numbers; a delivered order is left out):

- **TikTok Shop** (Seller Center → Orders → Bulk ship → upload): ``Order ID``, ``Tracking ID``,
  ``Shipping Provider Name``.
- **Shopify** (the export has no tracking column; bulk-fulfilment apps and Matrixify read these):
  ``Name`` (the order's ``#1001``), ``Tracking Number``, ``Tracking Company``, ``Tracking URL``.

The ids are the platform's own (its ``ExternalOrderRef``), the provider is the carrier's name ("" for a
parcel with the carrier "other"). Every cell goes through ``dashboard.exports.defuse``: a cell that starts
with ``=``, ``+``, ``-`` or ``@`` stays text in a spreadsheet.
"""

import csv
from collections.abc import Iterator
from urllib.parse import quote

from dashboard.exports import defuse
from orders.models import ImportSource
from orders.states import OrderStatus
from shipping.models import Shipment

HEADERS = {
    ImportSource.TIKTOK: ["Order ID", "Tracking ID", "Shipping Provider Name"],
    ImportSource.SHOPIFY: ["Name", "Tracking Number", "Tracking Company", "Tracking URL"],
}


def tracking_rows(shop, source: str) -> Iterator[list[str]]:
    """The header, then one row per parcel of the shop's shipped orders imported from ``source``."""
    if source not in HEADERS:
        raise ValueError(f"Unknown import source {source!r}")
    yield list(HEADERS[source])
    parcels = (
        Shipment.objects.filter(
            shop=shop,
            order__shop=shop,
            order__status=OrderStatus.SHIPPED,
            order__external_refs__source=source,
            order__external_refs__shop=shop,
        )
        .exclude(tracking_number="")
        .values_list(
            "order__external_refs__external_id",
            "tracking_number",
            "carrier__code",
            "carrier__name",
            "carrier__tracking_url_template",
        )
        .order_by("order_id", "id")
    )
    for external_id, number, code, name, template in parcels.iterator(chunk_size=2000):
        provider = "" if code == "other" else name
        row = [external_id, number, provider]
        if source == ImportSource.SHOPIFY:
            url = template.replace("{number}", quote(number, safe="")) if template else ""
            row.append(url)
        yield row


def write_tracking_csv(shop, source: str, out) -> int:
    """Write ``tracking_rows`` to the text stream ``out`` as CSV, every cell defused; returns the parcels."""
    writer = csv.writer(out)
    count = -1
    for row in tracking_rows(shop, source):
        writer.writerow([defuse(cell) for cell in row])
        count += 1
    return count
