"""Admin for users, shops, memberships and customers, and the read-only base the other apps' admins share."""

from collections.abc import Callable, Iterable

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from orders.errors import ShipshapeError

from .models import ApiKey, Customer, IdempotencyRecord, Membership, Shop, User


class ReadOnlyAdminMixin:
    """Rows that only the services write (orders, events, shipments...): the admin may look, never edit.

    ``has_change_permission`` stays true for the changelist (``obj is None``) so that admin actions, which
    call the services, remain available; a single row opens as a read-only "view" page and a POST to it is
    refused with 403.
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)


class ReadOnlyInline(admin.TabularInline):
    """A read-only tabular inline: no new rows, no edits, no deletes."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def run_service_action(
    request,
    rows: Iterable,
    call: Callable[[object], object],
    *,
    describe: Callable[[object], str],
    success: Callable[[int], str],
) -> int:
    """Call a service once per selected row; report the successes once and every refusal by name.

    Each call runs in its own transaction (the services are atomic), so one refused row never undoes or
    blocks the others. ``success(count)`` words the summary (callers use ``ngettext`` on literal strings so
    that makemessages finds them).
    """
    done = 0
    for row in rows:
        try:
            call(row)
        except ShipshapeError as error:
            messages.error(
                request,
                gettext("%(object)s: %(message)s") % {"object": describe(row), "message": error.message},
            )
        else:
            done += 1
    if done:
        messages.success(request, success(done))
    return done


def lowercase_email(form: forms.ModelForm) -> str:
    return (form.cleaned_data.get("email") or "").strip().lower()


class UserAddForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")

    def clean_email(self):
        return lowercase_email(self)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self):
        return lowercase_email(self)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]
    verbose_name = _("member")
    verbose_name_plural = _("members")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


class UserMembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    autocomplete_fields = ["shop"]
    fields = ["shop", "role", "created_at"]
    readonly_fields = ["created_at"]
    verbose_name = _("shop membership")
    verbose_name_plural = _("shop memberships")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("shop")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Users sign in with their email address; there is no username."""

    form = UserEditForm
    add_form = UserAddForm
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_superuser", "is_active", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["last_login", "date_joined"]
    inlines = [UserMembershipInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name",)}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "usable_password", "password1", "password2"),
            },
        ),
    )

    def get_inlines(self, request, obj):
        # Shops are granted once the user exists; the add form stays the plain email-and-password one.
        return self.inlines if obj is not None else []


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "currency", "handling_days", "return_window_days", "created_at"]
    search_fields = ["name", "slug"]
    list_filter = ["currency"]
    prepopulated_fields = {"slug": ["name"]}
    # The services hand out order numbers under a row lock; the admin never moves the counter.
    readonly_fields = ["last_order_number", "created_at"]
    inlines = [MembershipInline]
    fieldsets = (
        (None, {"fields": ("name", "slug", "currency", "contact_email")}),
        (
            _("Orders"),
            {"fields": ("order_prefix", "last_order_number", "handling_days", "return_window_days")},
        ),
        (
            _("Ship-from address"),
            {
                "fields": (
                    "ship_from_name",
                    "ship_from_line1",
                    "ship_from_line2",
                    "ship_from_city",
                    "ship_from_region",
                    "ship_from_postal_code",
                    "ship_from_country",
                )
            },
        ),
        (_("Record"), {"fields": ("created_at",)}),
    )


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "shop", "role", "created_at"]
    list_filter = ["role", "shop"]
    search_fields = ["user__email", "user__full_name", "shop__name", "shop__slug"]
    list_select_related = ["user", "shop"]
    autocomplete_fields = ["user", "shop"]
    readonly_fields = ["created_at"]


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = ["shop", "email", "name", "phone"]

    def clean_email(self):
        return lowercase_email(self)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    form = CustomerForm
    list_display = ["email", "name", "shop", "order_count", "created_at"]
    list_filter = ["shop"]
    search_fields = ["email", "name"]
    list_select_related = ["shop"]
    autocomplete_fields = ["shop"]
    # Kept by the services as orders are placed.
    readonly_fields = ["order_count", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        # A customer's orders belong to their shop: moving the customer would leak them to another shop.
        return [*self.readonly_fields, "shop"] if obj is not None else self.readonly_fields


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are issued where the secret can be shown once (dashboard, ``create_api_key``); here they are
    listed and revoked."""

    list_display = ["name", "shop", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["shop", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "=prefix", "shop__name"]
    list_select_related = ["shop", "created_by"]
    fields = ["name", "shop", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["shop", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke_selected"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Revoke selected API keys"), permissions=["change"])
    def revoke_selected(self, request, queryset):
        revoked = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        messages.success(
            request,
            ngettext("%(count)d API key revoked.", "%(count)d API keys revoked.", revoked)
            % {"count": revoked},
        )


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "key",
        "shop",
        "method",
        "path",
        "status",
        "response_status",
        "created_at",
        "completed_at",
    ]
    list_filter = ["status", "method", "shop"]
    search_fields = ["=key", "path"]
    list_select_related = ["shop"]
