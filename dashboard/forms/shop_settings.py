"""Settings forms (owners): the shop's profile, shipping, policies and notifications, notification texts,
team members and API keys.

The team forms keep the one rule a shop cannot break: it always has an owner. They lock the shop's owner
memberships while they check, so two owners demoting each other at once cannot leave the shop without one.
"""

from zoneinfo import available_timezones

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.template import Template, TemplateSyntaxError
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.models import NotificationTemplate
from shop.models import Membership, Role, Shop

TIMEZONE_CHOICES = [(name, name.replace("_", " ")) for name in sorted(available_timezones())]


class ShopProfileForm(forms.ModelForm):
    timezone = forms.ChoiceField(label=gettext_lazy("Time zone"), choices=TIMEZONE_CHOICES)

    class Meta:
        model = Shop
        fields = ["name", "contact_email", "contact_phone", "timezone", "brand_colour"]
        widgets = {"brand_colour": forms.TextInput(attrs={"type": "color"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].help_text = Shop._meta.get_field("timezone").help_text


class ShippingForm(forms.ModelForm):
    class Meta:
        model = Shop
        fields = [
            "ship_from_name",
            "ship_from_line1",
            "ship_from_line2",
            "ship_from_city",
            "ship_from_region",
            "ship_from_postal_code",
            "ship_from_country",
            "handling_days",
            "return_window_days",
        ]

    def clean_ship_from_country(self) -> str:
        country = self.cleaned_data["ship_from_country"].strip().upper()
        if country and (len(country) != 2 or not country.isalpha()):
            raise forms.ValidationError(_("Use the two-letter country code, e.g. US or GB."))
        return country


class PoliciesForm(forms.ModelForm):
    class Meta:
        model = Shop
        fields = [
            "apply_buyer_address_changes",
            "require_checklist",
            "allow_modifications",
            "modification_window_hours",
            "send_delay_notices",
            "delay_coupon_percent",
            "feedback_request_days",
        ]

    def clean_delay_coupon_percent(self) -> int:
        percent = self.cleaned_data["delay_coupon_percent"]
        if percent > 100:
            raise forms.ValidationError(_("A percentage is at most 100."))
        return percent


class NotificationTextForm(forms.ModelForm):
    class Meta:
        model = NotificationTemplate
        fields = ["subject", "body_text", "is_active"]
        widgets = {"body_text": forms.Textarea(attrs={"rows": 12})}

    def _check_template(self, field: str) -> str:
        text = self.cleaned_data[field]
        try:
            Template(text)
        except TemplateSyntaxError as error:
            raise forms.ValidationError(
                _("This text has a template error: %(error)s") % {"error": error}
            ) from None
        return text

    def clean_subject(self) -> str:
        return self._check_template("subject")

    def clean_body_text(self) -> str:
        return self._check_template("body_text")


class AddMemberForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Email"))
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices, initial=Role.STAFF)

    def __init__(self, *args, shop: Shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.shop = shop

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if Membership.objects.filter(shop=self.shop, user__email=email).exists():
            raise forms.ValidationError(_("%(email)s is already in the team.") % {"email": email})
        return email

    @transaction.atomic
    def save(self, *, request) -> tuple[Membership, bool]:
        """Add the person; a new user gets an account with no password and an email to choose one.
        Returns the membership and whether the account is new."""
        User = get_user_model()
        email = self.cleaned_data["email"]
        user = User.objects.filter(email=email).first()
        created = user is None
        if created:
            user = User.objects.create_user(email=email, password=None)
        membership = Membership.objects.create(user=user, shop=self.shop, role=self.cleaned_data["role"])
        if created:
            transaction.on_commit(lambda: send_invitation(request, user, self.shop))
        return membership, created


def send_invitation(request, user, shop: Shop) -> None:
    """The new member's way in: a one-time link to choose a password (the password reset link)."""
    path = reverse(
        "dashboard:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    context = {
        "shop": shop,
        "user": user,
        "invited_by": request.user,
        "url": request.build_absolute_uri(path),
    }
    send_mail(
        subject=_("You have been added to %(shop)s on Shipshape") % {"shop": shop.name},
        message=render_to_string("dashboard/settings/email/invitation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[user.email],
    )


def _owners_after(shop: Shop, membership: Membership, new_role: str | None) -> int:
    """How many owners the shop would have if ``membership`` took ``new_role`` (None: removed)."""
    owners = list(
        Membership.objects.select_for_update().filter(shop=shop, role=Role.OWNER).values_list("pk", flat=True)
    )
    remaining = [pk for pk in owners if pk != membership.pk]
    return len(remaining) + (1 if new_role == Role.OWNER else 0)


class ChangeRoleForm(forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices)

    def __init__(self, *args, membership: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.membership = membership

    @transaction.atomic
    def save(self) -> bool:
        """Change the role; False (with an error on the field) if it would leave the shop without an owner."""
        role = self.cleaned_data["role"]
        if _owners_after(self.membership.shop, self.membership, role) == 0:
            self.add_error("role", _("The shop needs an owner: make someone else an owner first."))
            return False
        Membership.objects.filter(pk=self.membership.pk).update(role=role)
        self.membership.role = role
        return True


@transaction.atomic
def remove_member(membership: Membership) -> str | None:
    """Remove someone from the team; returns why not if they are the last owner."""
    if _owners_after(membership.shop, membership, None) == 0:
        return _("The shop needs an owner: make someone else an owner before removing the last one.")
    membership.delete()
    return None


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("What uses this key, e.g. the storefront."),
    )
