"""``{{ amount|money:currency }}``: an amount in the viewer's language, e.g. $1,234.50 or 1.234,50 €."""

from decimal import Decimal, InvalidOperation

from babel.core import UnknownLocaleError
from babel.numbers import format_currency
from django import template
from django.utils import translation

register = template.Library()


def format_money(amount, currency: str, language: str | None = None) -> str:
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, TypeError, ValueError):
        return ""
    locale = translation.to_locale(language or translation.get_language() or "en")
    try:
        return format_currency(value, currency or "USD", locale=locale)
    except (UnknownLocaleError, ValueError):
        return format_currency(value, currency or "USD", locale="en")


@register.filter(name="money")
def money(amount, currency: str = "USD") -> str:
    return format_money(amount, currency)
