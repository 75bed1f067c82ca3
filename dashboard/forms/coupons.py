"""The coupon form: every rule of a coupon, checked beside its field."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from orders.models import Coupon, CouponKind


class CouponForm(forms.ModelForm):
    class Meta:
        model = Coupon
        fields = [
            "code",
            "kind",
            "value",
            "description",
            "valid_from",
            "valid_until",
            "usage_limit",
            "per_customer_limit",
            "min_subtotal",
            "min_quantity",
            "returning_customers_only",
            "is_active",
        ]
        widgets = {
            "valid_from": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "valid_until": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        }

    def __init__(self, *args, shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.shop = shop
        self.instance.shop = shop
        self.fields["code"].widget.attrs.update({"autocapitalize": "characters", "spellcheck": "false"})
        for name in ("valid_from", "valid_until"):
            self.fields[name].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"]

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip().upper()
        if not code:
            raise forms.ValidationError(_("Enter a code."))
        if any(ch.isspace() for ch in code):
            raise forms.ValidationError(_("A code cannot contain spaces."))
        taken = Coupon.objects.filter(shop=self.shop, code__iexact=code).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(_("This shop already has a coupon %(code)s.") % {"code": code})
        return code

    def clean(self):
        cleaned = super().clean()
        kind, value = cleaned.get("kind"), cleaned.get("value")
        if kind == CouponKind.PERCENTAGE and value is not None and not 0 < value <= 100:
            self.add_error("value", _("A percentage is more than 0 and at most 100."))
        if kind == CouponKind.FIXED and value is not None and value <= 0:
            self.add_error("value", _("Enter an amount more than 0."))
        if kind == CouponKind.FREE_SHIPPING:
            cleaned["value"] = 0
        start, end = cleaned.get("valid_from"), cleaned.get("valid_until")
        if start and end and end <= start:
            self.add_error("valid_until", _("The end must come after the start."))
        limit = cleaned.get("usage_limit")
        if limit is not None and self.instance.pk and limit < self.instance.times_used:
            self.add_error(
                "usage_limit",
                ngettext(
                    "It has been used %(count)s time already; the limit cannot be lower.",
                    "It has been used %(count)s times already; the limit cannot be lower.",
                    self.instance.times_used,
                )
                % {"count": self.instance.times_used},
            )
        return cleaned


class ApologyCouponForm(forms.Form):
    """The one-click apology: the order, and a percentage (the shop's delay-coupon percent by default)."""

    order = forms.CharField(max_length=32)
    percent = forms.IntegerField(min_value=1, max_value=100, required=False)
    confirm = forms.BooleanField(required=False)
    next = forms.CharField(required=False, max_length=500)
