"""Dashboard: settings (owners only) — shop profile, shipping, policies and notifications, notification
texts with a preview, team members and roles, API keys."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from orders.models import NotificationTemplate
from orders.notifications.catalogue import CATALOGUE
from orders.notifications.email import preview
from shop.models import ApiKey, Membership, Role

from ..access import seller_view
from ..forms.shop_settings import (
    AddMemberForm,
    ApiKeyForm,
    ChangeRoleForm,
    NotificationTextForm,
    PoliciesForm,
    ShippingForm,
    ShopProfileForm,
    remove_member,
)

SECTIONS = [
    ("dashboard:settings", gettext_lazy("Shop profile")),
    ("dashboard:settings_shipping", gettext_lazy("Shipping and returns")),
    ("dashboard:settings_policies", gettext_lazy("Buyers and notifications")),
    ("dashboard:settings_texts", gettext_lazy("Notification texts")),
    ("dashboard:settings_team", gettext_lazy("Team")),
    ("dashboard:settings_api_keys", gettext_lazy("API keys")),
]


def _page(request, template: str, section: str, context: dict, status: int = 200):
    return render(
        request,
        template,
        {"sections": SECTIONS, "section": section, **context},
        status=status,
    )


def _shop_form_view(form_class, section: str, title):
    """A settings page that edits some of the shop's own fields."""

    @seller_view(Role.OWNER)
    def view(request):
        form = form_class(request.POST or None, instance=request.shop)
        if request.method == "POST":
            if form.is_valid():
                form.save()
                messages.success(request, _("Settings saved."))
                return redirect(section)
            messages.error(request, _("Please correct the fields marked below."))
        return _page(request, "dashboard/settings/shop_form.html", section, {"form": form, "title": title})

    return view


profile = _shop_form_view(ShopProfileForm, "dashboard:settings", gettext_lazy("Shop profile"))
shipping = _shop_form_view(ShippingForm, "dashboard:settings_shipping", gettext_lazy("Shipping and returns"))
policies = _shop_form_view(
    PoliciesForm, "dashboard:settings_policies", gettext_lazy("Buyers and notifications")
)


# --- Notification texts ----------------------------------------------------------------------------


@seller_view(Role.OWNER)
def notification_texts(request):
    overrides = {t.template: t for t in NotificationTemplate.objects.filter(shop=request.shop)}
    kinds = [
        {"name": name, "subject": _(kind.subject) % {"number": "…"}, "override": overrides.get(name)}
        for name, kind in CATALOGUE.items()
    ]
    return _page(request, "dashboard/settings/texts.html", "dashboard:settings_texts", {"kinds": kinds})


@seller_view(Role.OWNER)
def notification_text(request, kind: str):
    """Edit the shop's own text for one message, preview it on the latest order, or go back to the
    built-in text."""
    if kind not in CATALOGUE:
        raise Http404(_("No such message."))
    override = NotificationTemplate.objects.filter(shop=request.shop, template=kind).first()
    instance = override or NotificationTemplate(shop=request.shop, template=kind)
    action = request.POST.get("action", "save")
    if request.method == "POST" and action == "reset":
        if override is not None:
            override.delete()
        messages.success(request, _("The built-in text is used again."))
        return redirect("dashboard:settings_text", kind=kind)
    form = NotificationTextForm(request.POST or None, instance=instance)
    rendered = None
    if request.method == "POST":
        if form.is_valid():
            if action == "preview":
                rendered = preview(
                    request.shop,
                    kind,
                    subject=form.cleaned_data["subject"],
                    body_text=form.cleaned_data["body_text"],
                )
            else:
                form.save()
                messages.success(request, _("Text saved."))
                return redirect("dashboard:settings_text", kind=kind)
    elif override is not None and override.is_active:
        rendered = preview(request.shop, kind, subject=override.subject, body_text=override.body_text)
    else:
        rendered = preview(request.shop, kind)
    return _page(
        request,
        "dashboard/settings/text_edit.html",
        "dashboard:settings_texts",
        {"kind": kind, "form": form, "override": override, "preview": rendered},
    )


# --- Team --------------------------------------------------------------------------------------------


def _team_page(request, add_form=None, role_forms=None, status=200):
    members = list(
        Membership.objects.filter(shop=request.shop).select_related("user").order_by("user__email")
    )
    role_forms = role_forms or {}
    rows = [
        {
            "membership": m,
            "form": role_forms.get(m.pk)
            or ChangeRoleForm(initial={"role": m.role}, membership=m, prefix=f"m{m.pk}"),
        }
        for m in members
    ]
    return _page(
        request,
        "dashboard/settings/team.html",
        "dashboard:settings_team",
        {"rows": rows, "add_form": add_form or AddMemberForm(shop=request.shop)},
        status=status,
    )


@seller_view(Role.OWNER)
def team(request):
    if request.method != "POST":
        return _team_page(request)
    form = AddMemberForm(request.POST, shop=request.shop)
    if not form.is_valid():
        return _team_page(request, add_form=form, status=400)
    membership, created = form.save(request=request)
    if created:
        message = _("%(email)s was added and sent an email to choose a password.")
    else:
        message = _("%(email)s was added to the team.")
    messages.success(request, message % {"email": membership.user.email})
    return redirect("dashboard:settings_team")


@require_POST
@seller_view(Role.OWNER)
def member_role(request, pk: int):
    membership = get_object_or_404(
        Membership.objects.select_related("shop", "user"), shop=request.shop, pk=pk
    )
    form = ChangeRoleForm(request.POST, membership=membership, prefix=f"m{membership.pk}")
    if not (form.is_valid() and form.save()):
        return _team_page(request, role_forms={membership.pk: form}, status=400)
    messages.success(
        request,
        _("The role of %(email)s has been changed. Role: %(role)s.")
        % {"email": membership.user.email, "role": membership.get_role_display()},
    )
    if membership.user_id == request.user.pk and membership.role != Role.OWNER:
        return redirect("dashboard:home")  # no longer allowed on the settings pages
    return redirect("dashboard:settings_team")


@require_POST
@seller_view(Role.OWNER)
def member_remove(request, pk: int):
    membership = get_object_or_404(
        Membership.objects.select_related("shop", "user"), shop=request.shop, pk=pk
    )
    refusal = remove_member(membership)
    if refusal:
        messages.error(request, refusal)
        return redirect("dashboard:settings_team")
    messages.success(request, _("%(email)s was removed from the team.") % {"email": membership.user.email})
    if membership.user_id == request.user.pk:
        return redirect("dashboard:home")
    return redirect("dashboard:settings_team")


# --- API keys ----------------------------------------------------------------------------------------


@never_cache
@seller_view(Role.OWNER)
def api_keys(request):
    """List the keys; creating one shows its secret on this response only (it is never stored)."""
    form = ApiKeyForm(request.POST or None)
    new_key = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            key, secret = ApiKey.issue(
                shop=request.shop, name=form.cleaned_data["name"], created_by=request.user
            )
            new_key = {"key": key, "secret": secret}
            form = ApiKeyForm()
        else:
            status = 400
    keys = ApiKey.objects.filter(shop=request.shop).select_related("created_by").order_by("-created_at")
    return _page(
        request,
        "dashboard/settings/api_keys.html",
        "dashboard:settings_api_keys",
        {"form": form, "keys": keys, "new_key": new_key},
        status=status,
    )


@require_POST
@seller_view(Role.OWNER)
def api_key_revoke(request, pk: int):
    key = get_object_or_404(ApiKey, shop=request.shop, pk=pk)
    if key.revoked_at is None:
        ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    messages.success(request, _("The key %(name)s was revoked.") % {"name": key.name})
    return redirect("dashboard:settings_api_keys")


urlpatterns = [
    path("settings/", profile, name="settings"),
    path("settings/shipping/", shipping, name="settings_shipping"),
    path("settings/policies/", policies, name="settings_policies"),
    path("settings/texts/", notification_texts, name="settings_texts"),
    path("settings/texts/<slug:kind>/", notification_text, name="settings_text"),
    path("settings/team/", team, name="settings_team"),
    path("settings/team/<int:pk>/role/", member_role, name="settings_member_role"),
    path("settings/team/<int:pk>/remove/", member_remove, name="settings_member_remove"),
    path("settings/api-keys/", api_keys, name="settings_api_keys"),
    path("settings/api-keys/<int:pk>/revoke/", api_key_revoke, name="settings_api_key_revoke"),
]
