"""The forms of the public doors: finding an order, asking for the order-history link."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from .lookup import normalise_number


class OrderLookupForm(forms.Form):
    number = forms.CharField(
        label=_("Order number"),
        max_length=32,
        help_text=_("As in your confirmation email, e.g. SS-100001."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    email_or_postcode = forms.CharField(
        label=_("Email or shipping postcode"),
        max_length=254,
        help_text=_("The email you ordered with, or the postcode the order ships to."),
        widget=forms.TextInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )

    def clean_number(self) -> str:
        return normalise_number(self.cleaned_data["number"])

    def clean_email_or_postcode(self) -> str:
        return self.cleaned_data["email_or_postcode"].strip()


class HistoryRequestForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        help_text=_("The email you ordered with."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    # Set when the buyer comes from a shop's order page: the link then covers that shop only.
    shop = forms.CharField(required=False, widget=forms.HiddenInput, max_length=200)

    def clean_shop(self) -> str:
        """A hidden field the buyer cannot correct: a value that is no shop slug is dropped, not refused."""
        slug = self.cleaned_data["shop"].strip()
        return slug if re.fullmatch(r"[a-z0-9][a-z0-9-]{0,59}", slug) else ""
