"""The carriers Shipshape knows out of the box, and detecting a carrier from a tracking number.

Patterns are deliberately conservative: a number that fits several carriers returns every candidate, and
``detect_carrier`` only answers when exactly one fits. Issue 8 replaces these patterns with the check-digit
rules of tracking_number_data.
"""

import re
from dataclasses import dataclass

DEFAULT_CARRIERS: tuple[dict, ...] = (
    {
        "code": "usps",
        "name": "USPS",
        "tracking_url_template": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
        "tracking_number_pattern": r"(9[1-5]\d{20}|9[1-5]\d{24}|(82|94|93|92|95)\d{20}|[A-Z]{2}\d{9}US)",
    },
    {
        "code": "ups",
        "name": "UPS",
        "tracking_url_template": "https://www.ups.com/track?tracknum={number}",
        "tracking_number_pattern": r"(1Z[0-9A-Z]{16}|T\d{10}|\d{9}|\d{26})",
    },
    {
        "code": "fedex",
        "name": "FedEx",
        "tracking_url_template": "https://www.fedex.com/fedextrack/?trknbr={number}",
        "tracking_number_pattern": r"(\d{12}|\d{15}|\d{20}|\d{22}|\d{34})",
    },
    {
        "code": "dhl-express",
        "name": "DHL Express",
        "tracking_url_template": "https://www.dhl.com/en/express/tracking.html?AWB={number}",
        "tracking_number_pattern": r"(\d{10}|\d{11}|JJD\d{18}|JVGL\d{16,18})",
    },
    {
        "code": "royal-mail",
        "name": "Royal Mail",
        "tracking_url_template": "https://www.royalmail.com/track-your-item#/tracking-results/{number}",
        "tracking_number_pattern": r"([A-Z]{2}\d{9}GB)",
    },
    {
        "code": "canada-post",
        "name": "Canada Post",
        "tracking_url_template": "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={number}",
        "tracking_number_pattern": r"(\d{16}|[A-Z]{2}\d{9}CA)",
    },
    {
        "code": "jt-express",
        "name": "J&T Express",
        "tracking_url_template": "https://www.jtexpress.com/trajectoryQuery?billcode={number}",
        "tracking_number_pattern": r"(JT\d{13}|JNTU\d{8,12})",
    },
    {
        "code": "yanwen",
        "name": "Yanwen",
        "tracking_url_template": "https://track.yw56.com.cn/en/querydel?nums={number}",
        "tracking_number_pattern": r"(UV\d{9}CN|YW\d{9}CN|Y[A-Z]\d{9}CN)",
    },
    {
        "code": "4px",
        "name": "4PX",
        "tracking_url_template": "https://track.4px.com/#/result/0/{number}",
        "tracking_number_pattern": r"(4PX\d{13,15}CN|UN\d{9}CN)",
    },
    {"code": "other", "name": "Other carrier", "tracking_url_template": "", "tracking_number_pattern": ""},
)


@dataclass(frozen=True)
class CarrierMatch:
    code: str
    name: str


def normalise_tracking_number(number: str) -> str:
    """Tracking numbers are compared without spaces or dashes and in capitals."""
    return re.sub(r"[\s-]+", "", number or "").upper()


def candidate_carriers(number: str, carriers) -> list:
    """Every carrier in ``carriers`` whose pattern matches the whole (normalised) number."""
    number = normalise_tracking_number(number)
    if not number:
        return []
    return [
        carrier
        for carrier in carriers
        if carrier.tracking_number_pattern and re.fullmatch(carrier.tracking_number_pattern, number)
    ]


def install_default_carriers(carrier_model=None) -> int:
    """Create or refresh the built-in carriers (idempotent). Returns how many were created."""
    if carrier_model is None:
        from .models import Carrier as carrier_model
    created = 0
    for data in DEFAULT_CARRIERS:
        _, was_created = carrier_model.objects.update_or_create(code=data["code"], defaults=data)
        created += was_created
    return created
