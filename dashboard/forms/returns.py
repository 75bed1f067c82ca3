"""Forms of the returns queue."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shop.templatetags.money import format_money


class RejectReturnForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason for rejecting"), max_length=500)


class RefundReturnForm(forms.Form):
    """The amount defaults to the returned lines' value and cannot exceed what is left to refund."""

    amount = forms.DecimalField(
        label=gettext_lazy("Refund amount"), min_value=Decimal("0"), max_digits=12, decimal_places=2
    )

    def __init__(self, *args, refundable: Decimal, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.refundable = refundable
        self.currency = currency
        self.fields["amount"].help_text = _("Up to %(amount)s.") % {
            "amount": format_money(refundable, currency)
        }
        self.fields["amount"].widget.attrs.update(
            {"max": str(refundable), "step": "0.01", "inputmode": "decimal"}
        )

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount > self.refundable:
            raise forms.ValidationError(
                _("At most %(amount)s can be refunded.")
                % {"amount": format_money(self.refundable, self.currency)}
            )
        return amount
