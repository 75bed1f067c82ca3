"""The carriers Shipshape knows out of the box, and detecting a carrier from a tracking number.

Built-in carriers are recognised by the formats and check digits of tracking_number_data (vendored in
``tracking_number_data/``, read by ``tracking_formats.py``); a carrier the data does not know (J&T, Yanwen,
4PX, a carrier an admin adds) by the regular expression in its ``tracking_number_pattern``. A number that fits
several carriers returns all of them and names none: detection never answers confidently and wrongly.
See docs/carriers.md.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from babel.core import Locale, UnknownLocaleError
from django.utils import translation
from django.utils.translation import gettext as _

from .tracking_formats import TrackingFormat, all_formats

# The longest number detection looks at (the API refuses longer ones; the longest format is 34 digits).
MAX_TRACKING_NUMBER_LENGTH = 64

POSTAL_SERVICE = "postal-service"

DEFAULT_CARRIERS: tuple[dict, ...] = (
    {
        "code": "usps",
        "name": "USPS",
        "tracking_url_template": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
        "tracking_number_pattern": "",
    },
    {
        "code": "ups",
        "name": "UPS",
        "tracking_url_template": "https://www.ups.com/track?tracknum={number}",
        "tracking_number_pattern": "",
    },
    {
        "code": "fedex",
        "name": "FedEx",
        "tracking_url_template": "https://www.fedex.com/fedextrack/?trknbr={number}",
        "tracking_number_pattern": "",
    },
    {
        "code": "dhl-express",
        "name": "DHL Express",
        "tracking_url_template": "https://www.dhl.com/en/express/tracking.html?AWB={number}",
        "tracking_number_pattern": "",
    },
    {
        "code": "dhl-ecommerce",
        "name": "DHL eCommerce",
        "tracking_url_template": "https://www.dhl.com/global-en/home/tracking/tracking-ecommerce.html?tracking-id={number}",
        "tracking_number_pattern": "",
    },
    {
        "code": "royal-mail",
        "name": "Royal Mail",
        "tracking_url_template": "https://www.royalmail.com/track-your-item#/tracking-results/{number}",
        "tracking_number_pattern": "",
    },
    {
        "code": "canada-post",
        "name": "Canada Post",
        "tracking_url_template": "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={number}",
        "tracking_number_pattern": "",
    },
    {
        "code": "purolator",
        "name": "Purolator",
        "tracking_url_template": "https://www.purolator.com/en/shipping/tracker?searchValue={number}",
        "tracking_number_pattern": "",
    },
    {
        "code": "dpd",
        "name": "DPD",
        "tracking_url_template": "https://www.dpdgroup.com/nl/mydpd/my-parcels/track?lang=en&parcelNumber={number}",
        "tracking_number_pattern": "",
    },
    {
        "code": "ontrac",
        "name": "OnTrac",
        "tracking_url_template": "https://www.ontrac.com/trackingres.asp?tracking_number={number}",
        "tracking_number_pattern": "",
    },
    {
        "code": "lasership",
        "name": "LaserShip",
        "tracking_url_template": "",
        "tracking_number_pattern": "",
    },
    {
        "code": "amazon",
        "name": "Amazon Logistics",
        "tracking_url_template": "https://track.amazon.com/tracking/{number}",
        "tracking_number_pattern": "",
    },
    {
        "code": "yodel",
        "name": "Yodel",
        "tracking_url_template": "https://www.yodel.co.uk/tracking/{number}",
        "tracking_number_pattern": "",
    },
    {
        "code": "yunexpress",
        "name": "YunExpress",
        "tracking_url_template": "https://www.yuntrack.com/parcelTracking?id={number}",
        "tracking_number_pattern": "",
    },
    {
        "code": "landmark",
        "name": "Landmark Global",
        "tracking_url_template": "https://track.landmarkglobal.com/?search={number}",
        "tracking_number_pattern": "",
    },
    {
        "code": POSTAL_SERVICE,
        "name": "National postal service",
        "tracking_url_template": "",
        "tracking_number_pattern": "",
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

# Which of our carriers each courier of the data is; "dhl" is split by format name below.
COURIER_CARRIERS = {
    "ups": "ups",
    "usps": "usps",
    "fedex": "fedex",
    "canada_post": "canada-post",
    "purolator": "purolator",
    "dpd": "dpd",
    "ontrac": "ontrac",
    "lasership": "lasership",
    "amazon": "amazon",
    "yodel": "yodel",
    "yunexpress": "yunexpress",
    "landmark": "landmark",
}
DHL_FORMAT_CARRIERS = {"DHL E-Commerce": "dhl-ecommerce"}  # every other DHL format is DHL Express
# UPU S10 numbers end in the country of the post that issued them: that post when we have it as a carrier,
# else the generic national postal service (named with the country).
S10_POSTS = {"GB": "royal-mail", "CA": "canada-post", "US": "usps"}

DATA_CARRIER_CODES = frozenset(
    {*COURIER_CARRIERS.values(), *DHL_FORMAT_CARRIERS.values(), *S10_POSTS.values()}
    | {"dhl-express", POSTAL_SERVICE}
)


@dataclass(frozen=True)
class CarrierInfo:
    code: str
    name: str
    tracking_url: str


@dataclass(frozen=True)
class Detection:
    number: str  # normalised
    valid: bool  # at least one carrier's format (with its check digit, where it has one) fits
    carrier: str | None  # the code, only when exactly one carrier fits
    candidates: tuple[CarrierInfo, ...]


def normalise_tracking_number(number: str) -> str:
    """Tracking numbers are compared without spaces or dashes and in capitals."""
    return re.sub(r"[\s-]+", "", number or "").upper()


def format_carrier(tracking_format: TrackingFormat, groups: dict[str, str]) -> str:
    """The code of our carrier a number in ``tracking_format`` belongs to."""
    if tracking_format.courier == "s10":
        return S10_POSTS.get(groups["CountryCode"], POSTAL_SERVICE)
    if tracking_format.courier == "dhl":
        return DHL_FORMAT_CARRIERS.get(tracking_format.name, "dhl-express")
    return COURIER_CARRIERS[tracking_format.courier]


def _possible_carriers(tracking_format: TrackingFormat) -> set[str]:
    if tracking_format.courier == "s10":
        return {*S10_POSTS.values(), POSTAL_SERVICE}
    if tracking_format.courier == "dhl":
        return {*DHL_FORMAT_CARRIERS.values(), "dhl-express"}
    return {COURIER_CARRIERS[tracking_format.courier]}


@cache
def _compiled(pattern: str) -> re.Pattern | None:
    try:
        return re.compile(pattern)
    except re.error:  # an admin's broken pattern matches nothing rather than breaking every shipment
        return None


def _country_name(code: str) -> str:
    try:
        locale = Locale.parse(translation.to_locale(translation.get_language() or "en"))
    except (UnknownLocaleError, ValueError):
        locale = Locale("en")
    return locale.territories.get(code) or code


def _data_matches(number: str) -> dict[str, dict[str, str]]:
    """Our carrier code -> the groups of the first of its formats that the number passes."""
    found: dict[str, dict[str, str]] = {}
    for tracking_format in all_formats():
        groups = tracking_format.groups(number)
        if groups is not None:
            found.setdefault(format_carrier(tracking_format, groups), groups)
    return found


def detect(number: str, carriers: Iterable | None = None) -> Detection:
    """Which of ``carriers`` (Carrier rows; default: the active ones) the tracking number can belong to.

    Built-in carriers are matched by the data's formats and check digits; any other carrier by its pattern.
    ``carrier`` is set only when exactly one carrier fits.
    """
    number = normalise_tracking_number(number)
    if carriers is None:
        from .models import Carrier

        carriers = Carrier.objects.filter(is_active=True)
    if not number or len(number) > MAX_TRACKING_NUMBER_LENGTH:
        return Detection(number=number, valid=False, carrier=None, candidates=())
    data = _data_matches(number)
    candidates = []
    for carrier in carriers:
        if carrier.code in DATA_CARRIER_CODES:
            groups = data.get(carrier.code)
            if groups is None:
                continue
            name = carrier.name
            if carrier.code == POSTAL_SERVICE:
                name = _("Postal service (%(country)s)") % {"country": _country_name(groups["CountryCode"])}
        else:
            pattern = _compiled(carrier.tracking_number_pattern) if carrier.tracking_number_pattern else None
            if pattern is None or not pattern.fullmatch(number):
                continue
            name = carrier.name
        url = carrier.tracking_url(number)
        candidates.append(CarrierInfo(code=carrier.code, name=name, tracking_url=url))
    return Detection(
        number=number,
        valid=bool(candidates),
        carrier=candidates[0].code if len(candidates) == 1 else None,
        candidates=tuple(candidates),
    )


def recognises_numbers_of(carrier) -> bool:
    """Whether detection knows this carrier's numbers (by the data's formats or by its own pattern); a
    carrier it does not know, such as "Other carrier", accepts any number."""
    return carrier.code in DATA_CARRIER_CODES or bool(carrier.tracking_number_pattern)


def candidate_carriers(number: str, carriers) -> list:
    """Every carrier in ``carriers`` the (normalised) number can belong to, by ``detect``'s rules."""
    carriers = list(carriers)
    codes = {info.code for info in detect(number, carriers).candidates}
    return [carrier for carrier in carriers if carrier.code in codes]


def with_check_digit(carrier_code: str, stem: str, suffix: str = "") -> str:
    """``stem`` + the check digit + ``suffix``: a valid number of the built-in carrier (for demo data)."""
    for tracking_format in all_formats():
        if carrier_code not in _possible_carriers(tracking_format):
            continue
        shape = tracking_format.shape(f"{stem}0{suffix}")
        if not shape or shape.get("CheckDigit") != "0":
            continue
        for digit in "0123456789":
            groups = {**shape, "CheckDigit": digit}
            if tracking_format.passes(groups) and format_carrier(tracking_format, groups) == carrier_code:
                return f"{stem}{digit}{suffix}"
    raise ValueError(f"No check digit makes {stem}?{suffix} a {carrier_code} number.")


def install_default_carriers(carrier_model=None) -> int:
    """Create or refresh the built-in carriers (idempotent). Returns how many were created."""
    if carrier_model is None:
        from .models import Carrier as carrier_model
    created = 0
    for data in DEFAULT_CARRIERS:
        _carrier, was_created = carrier_model.objects.update_or_create(code=data["code"], defaults=data)
        created += was_created
    return created
