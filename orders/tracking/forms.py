"""The buyer's forms on the tracking page. Each has its own prefix, so field ids never collide on the page.

Forms check the input's shape; the services check the rules (and their refusals are shown on the form too).
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from orders.services.buyer import FEEDBACK_COMMENT_MAX_LENGTH, MESSAGE_MAX_LENGTH
from orders.services.modifications import MAX_QUANTITY as MODIFICATION_MAX_QUANTITY
from orders.services.modifications import MESSAGE_MAX_LENGTH as MODIFICATION_MESSAGE_MAX_LENGTH
from orders.services.modifications import VARIANT_MAX_LENGTH
from orders.services.placing import ADDRESS_FIELDS


class AddressChangeForm(forms.Form):
    """A new address, typed in full: the page never shows the current one (it only shows part of it)."""

    prefix = "address"

    name = forms.CharField(label=_("Recipient"), max_length=150)
    line1 = forms.CharField(label=_("Address line 1"), max_length=200)
    line2 = forms.CharField(label=_("Address line 2 (optional)"), max_length=200, required=False)
    city = forms.CharField(label=_("City"), max_length=100)
    region = forms.CharField(label=_("Region or state (optional)"), max_length=100, required=False)
    postal_code = forms.CharField(label=_("Postcode"), max_length=20, required=False)
    country = forms.CharField(
        label=_("Country"),
        min_length=2,
        max_length=2,
        help_text=_("Two letters, such as US, GB or DE."),
    )
    phone = forms.CharField(label=_("Phone (optional)"), max_length=40, required=False)
    message = forms.CharField(
        label=_("Note for the seller (optional)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    AUTOCOMPLETE = {
        "name": "shipping name",
        "line1": "shipping address-line1",
        "line2": "shipping address-line2",
        "city": "shipping address-level2",
        "region": "shipping address-level1",
        "postal_code": "shipping postal-code",
        "country": "shipping country",
        "phone": "shipping tel",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, token in self.AUTOCOMPLETE.items():
            self.fields[name].widget.attrs["autocomplete"] = token
        self.fields["phone"].widget.input_type = "tel"
        self.fields["country"].widget.attrs.update({"size": 2, "autocapitalize": "characters"})

    def clean_country(self):
        country = self.cleaned_data["country"].strip().upper()
        if not country.isalpha():
            raise forms.ValidationError(_("Use a two-letter country code, such as US or GB."))
        return country

    def address(self) -> dict:
        return {key: self.cleaned_data[key] for key in ADDRESS_FIELDS}


class ReasonChoiceMixin:
    """A reason picked from a short list (quick on a phone), with words of one's own for "Other"."""

    OTHER = "other"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("reason") == self.OTHER and not cleaned.get("details", "").strip():
            self.add_error("details", _("Tell the seller the reason in a few words."))
        return cleaned

    def reason_text(self) -> str:
        label = str(dict(self.fields["reason"].choices)[self.cleaned_data["reason"]])
        details = self.cleaned_data.get("details", "").strip()
        if self.cleaned_data["reason"] == self.OTHER:
            return details
        return f"{label}: {details}" if details else label


class CancelForm(ReasonChoiceMixin, forms.Form):
    prefix = "cancel"

    reason = forms.ChoiceField(
        label=_("Why do you want to cancel?"),
        choices=[
            ("mistake", _("I ordered by mistake")),
            ("too_slow", _("It takes too long")),
            ("found_elsewhere", _("I found it elsewhere")),
            ("changed_mind", _("I changed my mind")),
            ("other", _("Another reason")),
        ],
        widget=forms.RadioSelect,
    )
    details = forms.CharField(label=_("More details (optional)"), max_length=200, required=False)


class ReturnForm(ReasonChoiceMixin, forms.Form):
    """One quantity field per returnable line (0 to what can still come back), and a reason."""

    prefix = "return"

    reason = forms.ChoiceField(
        label=_("Why are you returning these items?"),
        choices=[
            ("fit", _("It does not fit")),
            ("damaged", _("It arrived damaged or faulty")),
            ("not_as_described", _("It is not as described")),
            ("changed_mind", _("I changed my mind")),
            ("other", _("Another reason")),
        ],
        widget=forms.RadioSelect,
    )
    details = forms.CharField(label=_("More details (optional)"), max_length=300, required=False)

    def __init__(self, *args, returnable: list[tuple[object, int]], **kwargs):
        """``returnable``: (order line, units that can still come back) pairs."""
        super().__init__(*args, **kwargs)
        self.returnable = returnable
        self.line_fields = []
        for line, available in returnable:
            name = f"line_{line.pk}"
            label = line.name + (f" ({line.variant})" if line.variant else "")
            self.fields[name] = forms.IntegerField(
                label=label,
                min_value=0,
                max_value=available,
                initial=0,
                help_text=_("Up to %(count)s") % {"count": available},
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )
            self.line_fields.append((name, line.pk))
        # Quantities first, then the reason.
        self.order_fields([name for name, _pk in self.line_fields] + ["reason", "details"])

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not any(cleaned.get(name) for name, _pk in self.line_fields):
            raise forms.ValidationError(_("Choose how many of each item you are sending back."))
        return cleaned

    def quantity_fields(self) -> list:
        return [self[name] for name, _pk in self.line_fields]

    def lines(self) -> dict[int, int]:
        return {pk: self.cleaned_data[name] for name, pk in self.line_fields if self.cleaned_data.get(name)}


class ReturnTrackingForm(forms.Form):
    tracking_number = forms.CharField(
        label=_("Tracking number of your return parcel"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )


class MessageForm(forms.Form):
    prefix = "message"

    text = forms.CharField(
        label=_("Your message to the seller"),
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class FeedbackForm(forms.Form):
    prefix = "feedback"

    rating = forms.TypedChoiceField(
        label=_("Your rating"),
        choices=[
            (5, _("5 – excellent")),
            (4, _("4 – good")),
            (3, _("3 – fair")),
            (2, _("2 – poor")),
            (1, _("1 – very poor")),
        ],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        max_length=FEEDBACK_COMMENT_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ItemChangeForm(forms.Form):
    """A size or colour (free text) and a quantity for each item of the order, and an optional note.

    Each field also carries the value the page showed (``show_hidden_initial``): only what the buyer changed
    on the page is asked for, so an untouched field never undoes a change the seller made meanwhile. The
    ``lines`` field lists the items the page showed; another list means the page is out of date.
    """

    prefix = "modification"

    lines = forms.CharField(widget=forms.HiddenInput, required=False)
    message = forms.CharField(
        label=_("Note for the seller (optional)"),
        max_length=MODIFICATION_MESSAGE_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, order_lines, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_lines = list(order_lines)
        self.fields["lines"].initial = self.shown_lines()
        quantity_error = _(
            "The quantity must be a whole number of at least 1. To drop an item, write to the seller."
        )
        for line in self.order_lines:
            self.fields[f"line_{line.pk}_variant"] = forms.CharField(
                label=_("Size or colour"),
                max_length=VARIANT_MAX_LENGTH,
                required=False,
                initial=line.variant,
                show_hidden_initial=True,
                widget=forms.TextInput(attrs={"autocomplete": "off"}),
            )
            self.fields[f"line_{line.pk}_quantity"] = forms.IntegerField(
                label=_("Quantity"),
                min_value=1,
                max_value=MODIFICATION_MAX_QUANTITY,
                initial=line.quantity,
                show_hidden_initial=True,
                error_messages={
                    "required": quantity_error,
                    "invalid": quantity_error,
                    "min_value": quantity_error,
                },
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )
        self.order_fields([*(name for name in self.fields if name.startswith("line_")), "message", "lines"])

    def shown_lines(self) -> str:
        return ",".join(str(line.pk) for line in self.order_lines)

    def line_rows(self) -> list[tuple]:
        """(order line, its size-or-colour field, its quantity field) for the template."""
        return [
            (line, self[f"line_{line.pk}_variant"], self[f"line_{line.pk}_quantity"])
            for line in self.order_lines
        ]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("lines", "") != self.shown_lines():
            raise forms.ValidationError(
                _(
                    "The items of your order changed since this page was opened. "
                    "Here they are as they are now: check your change and send it again."
                ),
                code="stale",
            )
        if not self.errors and not self.changes():
            raise forms.ValidationError(
                _("These are already the items of your order; change a size, colour or quantity first."),
                code="unchanged",
            )
        return cleaned

    def changes(self) -> list[dict]:
        """What ``request_modification`` takes: for each item the buyer changed, only what changed."""
        changed = set(self.changed_data)
        changes = []
        for line in self.order_lines:
            asked = {
                key: self.cleaned_data[name]
                for key in ("variant", "quantity")
                if (name := f"line_{line.pk}_{key}") in changed and name in self.cleaned_data
            }
            if asked:
                changes.append({"line_id": line.pk, **asked})
        return changes

    def field_for(self, service_field: str, changes: list[dict]) -> str | None:
        """The form field a service's refusal names (``changes.0.quantity``, ``message``), if any."""
        if service_field == "message":
            return "message"
        parts = service_field.split(".")
        if len(parts) == 3 and parts[0] == "changes" and parts[1].isdigit() and int(parts[1]) < len(changes):
            name = f"line_{changes[int(parts[1])]['line_id']}_{parts[2]}"
            return name if name in self.fields else None
        return None
