"""Tracking-number formats and check digits, read from the vendored ``tracking_number_data`` files.

The JSON files in ``tracking_number_data/couriers/`` are copies of github.com/jkeen/tracking_number_data (MIT,
see that folder's README and LICENSE); ``local_formats.json`` holds the few formats we add. This module only
knows the file format: a regex with named groups per format, the check-digit algorithm and its parameters,
an optional prefix added to the serial number before checking, and lookups a group's value must appear in.
Which of our carriers a format belongs to is decided in ``carriers.py``.
"""

import json
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "tracking_number_data" / "couriers"
LOCAL_FORMATS_FILE = Path(__file__).resolve().parent / "local_formats.json"


# tracking_number_data's mod10 reads a letter as (its code point - 3) mod 10 (UPS serials have letters).
_MOD10_VALUES = {
    char: int(char) if char.isdigit() else (ord(char) - 3) % 10
    for char in string.digits + string.ascii_uppercase
}


def mod10(serial: str, check: str, *, evens_multiplier: int = 1, odds_multiplier: int = 1, **_) -> bool:
    values = [_MOD10_VALUES[char] for char in serial]
    total = sum(values[0::2]) * evens_multiplier + sum(values[1::2]) * odds_multiplier
    return str((10 - total % 10) % 10) == check


def mod7(serial: str, check: str, **_) -> bool:
    return str(int(serial) % 7) == check


def s10(serial: str, check: str, **_) -> bool:
    weights = (8, 6, 4, 2, 3, 5, 9, 7)
    remainder = sum(int(digit) * weight for digit, weight in zip(serial, weights, strict=True)) % 11
    return str({0: 5, 1: 0}.get(remainder, 11 - remainder)) == check


def sum_product_with_weightings_and_modulo(
    serial: str, check: str, *, weightings: list[int], modulo1: int, modulo2: int, **_
) -> bool:
    total = sum(int(digit) * weight for digit, weight in zip(serial, weightings, strict=True))
    return str(total % modulo1 % modulo2) == check


def luhn(serial: str, check: str, **_) -> bool:
    total = 0
    for index, char in enumerate(reversed(serial + check)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def mod_37_36(serial: str, check: str, **_) -> bool:
    """ISO 7064 MOD 37,36 as in DPD's parcel label specification."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    value = 36
    for char in serial:
        value += alphabet.index(char)
        if value > 36:
            value -= 36
        value *= 2
        if value > 36:
            value -= 37
    value = 37 - value
    return alphabet[0 if value == 36 else value] == check


CHECKSUMS: dict[str, Callable[..., bool]] = {
    "mod10": mod10,
    "mod7": mod7,
    "s10": s10,
    "sum_product_with_weightings_and_modulo": sum_product_with_weightings_and_modulo,
    "luhn": luhn,
    "mod_37_36": mod_37_36,
}


def _python_regex(source: str | list[str]) -> re.Pattern:
    """The data's PCRE as Python's: ``(?<Name>`` groups become ``(?P<Name>``, and literal dashes outside
    character classes are dropped, because we match numbers after removing spaces and dashes."""
    text = "".join(source) if isinstance(source, list) else source
    text = text.replace("(?<", "(?P<")
    out, in_class, escaped = [], False, False
    for char in text:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            out.append(char)
            escaped = True
        elif char == "[":
            in_class = True
            out.append(char)
        elif char == "]":
            in_class = False
            out.append(char)
        elif char == "-" and not in_class:
            continue
        else:
            out.append(char)
    return re.compile("".join(out))


@dataclass(frozen=True)
class TrackingFormat:
    courier: str  # the data's courier_code, e.g. "ups", "s10"
    name: str  # e.g. "UPS Waybill"
    regex: re.Pattern
    tracking_url: str  # the data's template with %s, or ""
    checksum: dict | None = None
    prepend_if: tuple[re.Pattern, str] | None = None
    # group name -> values it must take (validation "additional.exists"); empty when nothing is required
    required_values: dict[str, frozenset[str]] = field(default_factory=dict)
    lookups: dict[str, dict[str, dict]] = field(default_factory=dict)  # group -> exact value -> lookup entry
    valid_examples: tuple[str, ...] = ()
    invalid_examples: tuple[str, ...] = ()

    def groups(self, number: str) -> dict[str, str] | None:
        """The named groups when ``number`` (no spaces or dashes) passes this format, else None."""
        groups = self.shape(number)
        return groups if groups is not None and self.passes(groups) else None

    def shape(self, number: str) -> dict[str, str] | None:
        """The named groups when ``number`` has this format's shape, before any check."""
        found = self.regex.fullmatch(number)
        if found is None:
            return None
        return {name: "".join(value.split()) for name, value in found.groupdict().items() if value}

    def passes(self, groups: dict[str, str]) -> bool:
        """Whether the groups of a number of this shape pass its check digit and required lookups."""
        if self.checksum is not None:
            serial, check = groups.get("SerialNumber", ""), groups.get("CheckDigit", "")
            if not serial or not check:
                return False
            if self.prepend_if and self.prepend_if[0].match(serial):
                serial = self.prepend_if[1] + serial
            params = {key: value for key, value in self.checksum.items() if key != "name"}
            try:
                if not CHECKSUMS[self.checksum["name"]](serial, check, **params):
                    return False
            except ValueError:  # a letter where the algorithm needs a digit
                return False
        return all(groups.get(group) in allowed for group, allowed in self.required_values.items())


def _format_from(courier: str, spec: dict) -> TrackingFormat:
    validation = spec.get("validation") or {}
    prepend = (validation.get("serial_number_format") or {}).get("prepend_if")
    lookups = {}
    by_name = {}
    for extra in spec.get("additional") or []:
        exact = {entry["matches"]: entry for entry in extra.get("lookup", []) if "matches" in entry}
        lookups[extra["regex_group_name"]] = exact
        by_name[extra["name"]] = (extra["regex_group_name"], frozenset(exact))
    required = dict(by_name[name] for name in (validation.get("additional") or {}).get("exists", []))
    tests = spec.get("test_numbers") or {}
    return TrackingFormat(
        courier=courier,
        name=spec["name"],
        regex=_python_regex(spec["regex"]),
        tracking_url=spec.get("tracking_url") or "",
        checksum=validation.get("checksum"),
        prepend_if=(re.compile(prepend["matches_regex"]), prepend["content"]) if prepend else None,
        required_values=required,
        lookups=lookups,
        valid_examples=tuple(tests.get("valid", ())),
        invalid_examples=tuple(tests.get("invalid", ())),
    )


def _read(path: Path) -> list[TrackingFormat]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [_format_from(data["courier_code"], spec) for spec in data["tracking_numbers"]]


@cache
def all_formats() -> tuple[TrackingFormat, ...]:
    """Every format of the vendored files and of local_formats.json, read once per process."""
    formats = []
    for path in sorted(DATA_DIR.glob("*.json")):
        formats.extend(_read(path))
    for courier in json.loads(LOCAL_FORMATS_FILE.read_text(encoding="utf-8"))["couriers"]:
        formats.extend(_format_from(courier["courier_code"], spec) for spec in courier["tracking_numbers"])
    return tuple(formats)


@cache
def local_exceptions() -> dict[str, str]:
    """Upstream "invalid" examples our local formats accept on purpose, with the reason."""
    return json.loads(LOCAL_FORMATS_FILE.read_text(encoding="utf-8")).get("accepted_upstream_invalid", {})
