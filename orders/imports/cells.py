"""Reading one cell's value: amounts of money, quantities, dates and times, countries.

``RowCells`` reads the cells of one row for one order: a value it cannot read becomes an error ``Problem``
on the order (with the row and the column's name as in the file) and the order is rejected; the file goes on.
"""

import re
from datetime import datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from django.utils.translation import gettext as _

from .reading import Columns
from .records import ImportedOrder

CENT = Decimal("0.01")

_MONEY = re.compile(
    r"(?P<sign>[-+]?)\s*(?P<before>[^\d\s.,+()-]{0,4})\s*(?P<sign2>-?)\s*"
    r"(?P<number>\d(?:[\d,.\s\u00a0\u202f']*\d)?)\s*(?P<after>[^\d\s.,+()-]{0,4})"
)
_PLAIN_MONEY = re.compile(r"-?\d+(?:\.\d+)?")
_THOUSANDS_COMMAS = re.compile(r"\d{1,3}(,\d{3})+")
_THOUSANDS_DOTS = re.compile(r"\d{1,3}(\.\d{3})+")
_WHOLE = re.compile(r"[-+]?\d+(?:\.0*)?")


class BadValue(ValueError):
    pass


def parse_money(text: str) -> Decimal | None:
    """``"1400.00"``, ``"$1,234.50"``, ``"USD 12.99"``, ``"1.234,56 €"``, ``"(5.00)"`` → a Decimal to the
    cent; ``""`` → None."""
    text = text.strip()
    if not text:
        return None
    if _PLAIN_MONEY.fullmatch(text):  # the usual "1400.00": no need to look further
        return Decimal(text).quantize(CENT, rounding=ROUND_HALF_UP)
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1].strip()
    match = _MONEY.fullmatch(text)
    if not match:
        raise BadValue(text)
    negative = negative or "-" in (match["sign"], match["sign2"])
    number = re.sub(r"[\s\u00a0\u202f']", "", match["number"])
    if "," in number and "." in number:
        decimal_mark = "," if number.rfind(",") > number.rfind(".") else "."
        number = number.replace("." if decimal_mark == "," else ",", "").replace(",", ".")
    elif "," in number:
        number = number.replace(",", "") if _THOUSANDS_COMMAS.fullmatch(number) else number.replace(",", ".")
    elif number.count(".") > 1 and _THOUSANDS_DOTS.fullmatch(number):
        number = number.replace(".", "")
    if number.count(".") > 1:
        raise BadValue(text)
    try:
        value = Decimal(number).quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise BadValue(text) from None
    return -value if negative else value


def parse_count(text: str) -> int | None:
    """A whole number of items (``"2"``, or ``"2.0"`` from a spreadsheet); ``""`` → None."""
    text = text.strip()
    if not text:
        return None
    if not _WHOLE.fullmatch(text):
        raise BadValue(text)
    return int(Decimal(text))


# Dates --------------------------------------------------------------------------------------------

# 08/03/2026 9:14:22 AM (TikTok US), 25/06/2026 13:03:57 (other regions), also with . or - between the parts.
_SLASHED = re.compile(
    r"(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<year>\d{4})"
    r"(?:[ T]+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
)
MONTH_FIRST, DAY_FIRST = "month-first", "day-first"


def date_order_evidence(text: str) -> str | None:
    """What one date says about the file's order: AM/PM or a second part over 12 → month first; a first part
    over 12 → day first; None when it could be either."""
    match = _SLASHED.fullmatch(text.strip())
    if not match:
        return None
    if match["ampm"]:
        return MONTH_FIRST
    if int(match["a"]) > 12:
        return DAY_FIRST
    if int(match["b"]) > 12:
        return MONTH_FIRST
    return None


def parse_local_time(text: str, *, zone: tzinfo, date_order: str = DAY_FIRST) -> datetime | None:
    """A date and time with no zone (TikTok's), read in ``zone``; ISO dates (what a spreadsheet's date cell
    becomes) are read too, and keep their offset if they have one."""
    text = text.strip()
    if not text:
        return None
    match = _SLASHED.fullmatch(text)
    if match:
        first, second = int(match["a"]), int(match["b"])
        month, day = (first, second) if date_order == MONTH_FIRST else (second, first)
        hour = int(match["hour"] or 0)
        if match["ampm"]:
            if not 1 <= hour <= 12:
                raise BadValue(text)
            hour = hour % 12 + (12 if match["ampm"][0] in "Pp" else 0)
        try:
            moment = datetime(
                int(match["year"]), month, day, hour, int(match["minute"] or 0), int(match["second"] or 0)
            )
        except ValueError:
            raise BadValue(text) from None
        return moment.replace(tzinfo=zone)
    return parse_iso_time(text, zone=zone)


def parse_iso_time(text: str, *, zone: tzinfo) -> datetime | None:
    """Shopify's ``2021-05-13 15:15:21 +0200`` (or any ISO 8601 form); no offset → read in ``zone``."""
    text = text.strip()
    if not text:
        return None
    try:  # fromisoformat reads "+0200" once the space before it is gone (and is 30× faster than strptime)
        moment = datetime.fromisoformat(text.replace(" +", "+").replace(" -", "-"))
    except ValueError:
        raise BadValue(text) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


# Countries ----------------------------------------------------------------------------------------

_COUNTRY_ALIASES = {
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "united states of america": "US",
    "america": "US",
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "south korea": "KR",
    "korea": "KR",
    "republic of korea": "KR",
    "russia": "RU",
    "russian federation": "RU",
    "vietnam": "VN",
    "viet nam": "VN",
    "turkey": "TR",
    "türkiye": "TR",
    "czech republic": "CZ",
    "hong kong": "HK",
    "macau": "MO",
    "macao": "MO",
    "taiwan": "TW",
    "holland": "NL",
    "the netherlands": "NL",
    "uae": "AE",
    "ivory coast": "CI",
}


@cache
def _country_codes() -> dict[str, str]:
    from babel import Locale

    codes = {}
    for code, name in Locale("en").territories.items():
        if len(code) == 2 and code.isalpha():
            codes[name.casefold()] = code
            codes[code.casefold()] = code
    codes.update(_COUNTRY_ALIASES)
    return codes


def country_code(text: str) -> str | None:
    """ISO 3166 alpha-2 for a code or an English name (``"United States"`` → ``"US"``); None if unknown."""
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        return None
    return _country_codes().get(text.casefold())


# One row's cells ----------------------------------------------------------------------------------


class RowCells:
    """The cells of one row, read for ``order``: unreadable values become its error problems."""

    __slots__ = ("columns", "number", "order", "row")

    def __init__(self, columns: Columns, row: list[str], number: int, order: ImportedOrder):
        self.columns, self.row, self.number, self.order = columns, row, number, order

    def text(self, key: str) -> str:
        return self.columns.get(self.row, key)

    def _bad(self, key: str, message: str, value: str) -> None:
        self.order.error(message % {"value": value}, row=self.number, column=self.columns.name(key))

    def money(self, key: str) -> Decimal | None:
        text = self.columns.get(self.row, key)
        try:
            return parse_money(text)
        except BadValue:
            self._bad(key, _("“%(value)s” is not an amount of money."), text)
            return None

    def count(self, key: str) -> int | None:
        text = self.columns.get(self.row, key)
        try:
            return parse_count(text)
        except BadValue:
            self._bad(key, _("“%(value)s” is not a whole number."), text)
            return None

    def country(self, key: str) -> str:
        """An ISO code for the column's country (a code or an English name); kept as written, with a
        warning, when unknown."""
        text = self.columns.get(self.row, key)
        if not text:
            return ""
        code = country_code(text)
        if code is None:
            self.order.warn(
                _("“%(country)s” is not a country this import knows.") % {"country": text},
                row=self.number,
                column=self.columns.name(key),
            )
        return code or text

    def moment(self, key: str, parse, **options) -> datetime | None:
        text = self.columns.get(self.row, key)
        try:
            return parse(text, **options)
        except BadValue:
            self._bad(key, _("“%(value)s” is not a date and time this import can read."), text)
            return None
