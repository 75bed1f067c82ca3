"""Forms of the order page. Each carries the order's version so a stale form is refused by the service."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.services.placing import ADDRESS_FIELDS
from shipping.carriers import candidate_carriers, normalise_tracking_number, recognises_numbers_of


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class ProcessForm(VersionForm):
    pass


class DeliverForm(VersionForm):
    pass


class CancelForm(VersionForm):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)


class NoteForm(VersionForm):
    text = forms.CharField(
        label=gettext_lazy("Internal note"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Only your team sees notes."),
    )


class ReplyForm(VersionForm):
    text = forms.CharField(
        label=gettext_lazy("Message to the buyer"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("Emailed to the buyer and kept on the timeline."),
    )


class ChecklistForm(VersionForm):
    picked = forms.BooleanField(label=gettext_lazy("Picked from stock"), required=False)
    packed = forms.BooleanField(label=gettext_lazy("Packed"), required=False)
    address_verified = forms.BooleanField(label=gettext_lazy("Address verified"), required=False)

    @classmethod
    def for_order(cls, order) -> "ChecklistForm":
        return cls(
            initial={
                "version": order.version,
                "picked": order.picked_at is not None,
                "packed": order.packed_at is not None,
                "address_verified": order.address_verified_at is not None,
            }
        )


class AddressForm(VersionForm):
    name = forms.CharField(label=gettext_lazy("Recipient"), max_length=150)
    line1 = forms.CharField(label=gettext_lazy("Address line 1"), max_length=200)
    line2 = forms.CharField(label=gettext_lazy("Address line 2"), max_length=200, required=False)
    city = forms.CharField(label=gettext_lazy("City"), max_length=100)
    region = forms.CharField(label=gettext_lazy("Region"), max_length=100, required=False)
    postal_code = forms.CharField(label=gettext_lazy("Postal code"), max_length=20, required=False)
    country = forms.CharField(
        label=gettext_lazy("Country"),
        max_length=2,
        min_length=2,
        help_text=gettext_lazy("Two-letter code, such as US or GB."),
    )
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=40, required=False)

    @classmethod
    def for_order(cls, order) -> "AddressForm":
        initial = {key: getattr(order, f"ship_{key}") for key in ADDRESS_FIELDS}
        return cls(initial={**initial, "version": order.version})

    @staticmethod
    def address(data: dict) -> dict:
        return {key: data[key] for key in ADDRESS_FIELDS}


class ShipForm(VersionForm):
    """One parcel: carrier (or detected from the number), tracking number, and how many of each line."""

    carrier = forms.ChoiceField(label=gettext_lazy("Carrier"), required=False)
    tracking_number = forms.CharField(
        label=gettext_lazy("Tracking number"),
        max_length=64,
        required=False,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
        ),
    )
    no_tracking = forms.BooleanField(label=gettext_lazy("This parcel has no tracking number"), required=False)

    def __init__(self, *args, order, lines_left, carriers, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order
        self.carriers = {carrier.code: carrier for carrier in carriers}
        self.fields["carrier"].choices = [("", _("Detect from the tracking number"))] + [
            (carrier.code, carrier.name) for carrier in carriers
        ]
        self.line_fields = []
        for line, left in lines_left:
            name = f"line_{line.pk}"
            self.fields[name] = forms.IntegerField(
                label=f"{line.name} ({line.variant})" if line.variant else line.name,
                min_value=0,
                max_value=left,
                initial=left,
                required=False,
            )
            self.fields[name].left = left
            self.line_fields.append(name)

    def carrier_options(self) -> list[tuple[str, str]]:
        return [(code, carrier.name) for code, carrier in self.carriers.items()]

    def line_bound_fields(self):
        return [self[name] for name in self.line_fields]

    def clean(self):
        data = super().clean()
        number = normalise_tracking_number(data.get("tracking_number", ""))
        data["tracking_number"] = number
        code = data.get("carrier") or ""
        if data.get("no_tracking"):
            if number:
                self.add_error("no_tracking", _("Leave the tracking number empty, or untick this box."))
            if not code:
                self.add_error("carrier", _("Choose the carrier of a parcel without tracking."))
        elif not number:
            self.add_error("tracking_number", _("Enter the tracking number, or say the parcel has none."))
        elif code:
            # The same rules as the detect endpoint: the carrier's formats and check digits, or its pattern.
            carrier = self.carriers[code]
            if recognises_numbers_of(carrier) and not candidate_carriers(number, [carrier]):
                self.add_error(
                    "tracking_number",
                    _("%(number)s is not a %(carrier)s tracking number. Check it, or choose another carrier.")
                    % {"number": number, "carrier": carrier.name},
                )
        else:
            candidates = candidate_carriers(number, self.carriers.values())
            if len(candidates) == 1:
                data["carrier"] = candidates[0].code
            elif not candidates:
                self.add_error(
                    "tracking_number",
                    _("No carrier uses tracking numbers like %(number)s; check it or choose the carrier.")
                    % {"number": number},
                )
            else:
                self.add_error(
                    "carrier",
                    _("%(number)s could belong to %(carriers)s; choose the carrier.")
                    % {"number": number, "carriers": ", ".join(c.name for c in candidates)},
                )
        quantities = {}
        for name in self.line_fields:
            value = data.get(name)
            if value:
                quantities[int(name.removeprefix("line_"))] = value
        line_errors = any(self.has_error(name) for name in self.line_fields)
        if self.line_fields and not quantities and not line_errors:
            raise forms.ValidationError(_("Put at least one item in the parcel."), code="empty_parcel")
        data["quantities"] = quantities
        return data
