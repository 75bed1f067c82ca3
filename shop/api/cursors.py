"""Opaque cursors for keyset pagination: the client sends back what it was given, nothing to compute."""

import base64
import json
from datetime import datetime

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError


def encode_cursor(*values) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, kinds: tuple[type, ...], field: str = "cursor") -> tuple:
    """Decode a cursor made by ``encode_cursor`` whose values have the given types; 400 if it is not one."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError
        decoded = []
        for value, kind in zip(values, kinds, strict=True):
            if kind is datetime:
                parsed = datetime.fromisoformat(value)
                if parsed.tzinfo is None:
                    raise ValueError
                decoded.append(parsed)
            elif kind is int:
                if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**62:
                    raise ValueError
                decoded.append(value)
            else:
                raise ValueError
        return tuple(decoded)
    except (ValueError, TypeError, UnicodeError, json.JSONDecodeError) as exc:
        raise ValidationError(
            {field: [_("This cursor is not valid; use the one a response gave you.")]}
        ) from exc
