"""``manage.py seed_demo``: a demo shop to sign in to, a second shop to show isolation, orders in every state.

Safe to run again: what exists is kept (users, shops, coupons), and orders are only added up to the
requested number (``--orders``). Passwords are set when a user is created, never reset.
"""

from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.models import Coupon, CouponKind, Order
from shipping.carriers import DEFAULT_CARRIERS
from shipping.models import Carrier
from shop.demo_data import generate_orders
from shop.models import Membership, Role, Shop, User

PASSWORD = "shipshape-demo"
ADMIN_EMAIL = "admin@demo.shop"
OTHER_ORDERS = 40
DEFAULT_ORDERS = 300

SHOPS = (
    {
        "slug": "demo",
        "owner": "owner@demo.shop",
        "owner_name": "Dana Demo",
        "defaults": {
            "name": "Harbour Threads",
            "currency": "USD",
            "contact_email": "hello@demo.shop",
            "order_prefix": "SS",
            "handling_days": 2,
            "return_window_days": 30,
            "ship_from_name": "Harbour Threads",
            "ship_from_line1": "200 Dock Street",
            "ship_from_city": "Portland",
            "ship_from_region": "OR",
            "ship_from_postal_code": "97209",
            "ship_from_country": "US",
        },
        "coupons": (
            ("WELCOME10", CouponKind.PERCENTAGE, "10", {"description": "10% off for newsletter sign-ups"}),
            (
                "SPRING15",
                CouponKind.PERCENTAGE,
                "15",
                {"min_subtotal": Decimal("50"), "description": "Spring sale"},
            ),
            ("SAVE5", CouponKind.FIXED, "5", {"min_subtotal": Decimal("30"), "description": "$5 off $30"}),
            (
                "BUNDLE20",
                CouponKind.FIXED,
                "20",
                {"min_quantity": 3, "description": "$20 off three items or more"},
            ),
            ("FREESHIP", CouponKind.FREE_SHIPPING, "0", {"min_subtotal": Decimal("40")}),
            (
                "VIP25",
                CouponKind.PERCENTAGE,
                "25",
                {"usage_limit": 25, "description": "Limited: first 25 uses"},
            ),
            (
                "SUMMER24",
                CouponKind.PERCENTAGE,
                "20",
                {"valid_until": -120, "description": "Last summer's sale"},
            ),
            ("OLDCODE", CouponKind.FIXED, "10", {"is_active": False, "description": "Retired"}),
        ),
    },
    {
        "slug": "other",
        "owner": "owner@other.shop",
        "owner_name": "Otto Other",
        "defaults": {
            "name": "Nordlicht Home",
            "currency": "EUR",
            "contact_email": "hallo@other.shop",
            "order_prefix": "NH",
            "handling_days": 3,
            "return_window_days": 14,
            "ship_from_name": "Nordlicht Home",
            "ship_from_line1": "Prinsengracht 100",
            "ship_from_city": "Amsterdam",
            "ship_from_postal_code": "1015 EA",
            "ship_from_country": "NL",
        },
        "coupons": (
            ("BIENVENUE10", CouponKind.PERCENTAGE, "10", {}),
            ("LIVRAISON", CouponKind.FREE_SHIPPING, "0", {"min_subtotal": Decimal("50")}),
            ("MERCI5", CouponKind.FIXED, "5", {"min_subtotal": Decimal("40")}),
        ),
    },
)


class Command(BaseCommand):
    help = gettext_lazy("Load demo shops, users, coupons and orders in every state. Safe to run again.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--orders",
            type=int,
            default=DEFAULT_ORDERS,
            help=gettext_lazy("Orders the demo shop should have (tops up)."),
        )
        parser.add_argument(
            "--shop",
            default="demo",
            help=gettext_lazy("Slug of the shop --orders applies to (default: demo)."),
        )
        parser.add_argument(
            "--batch-size", type=int, default=5000, help=gettext_lazy("Orders written per transaction.")
        )

    def handle(self, *args, orders: int, shop: str, batch_size: int, verbosity: int, **options):
        if orders < 0:
            raise CommandError(_("--orders cannot be negative."))
        ensure_carriers()
        admin = ensure_user(ADMIN_EMAIL, "Avery Admin", superuser=True)
        shops = {}
        for spec in SHOPS:
            owner = ensure_user(spec["owner"], spec["owner_name"])
            shops[spec["slug"]] = (ensure_shop(spec, owner), owner)
        if shop not in shops:
            target = Shop.objects.filter(slug=shop).first()
            if target is None:
                raise CommandError(_("There is no shop %(slug)s.") % {"slug": shop})
            owner_membership = Membership.objects.filter(shop=target, role=Role.OWNER).select_related("user")
            shops[shop] = (target, owner_membership.first().user if owner_membership.exists() else admin)

        targets = {"other": OTHER_ORDERS, "demo": DEFAULT_ORDERS, shop: orders}
        added = 0
        for slug, wanted in targets.items():
            target, owner = shops[slug]
            existing = Order.objects.filter(shop=target).count()
            if existing >= wanted:
                continue
            self.stdout.write(
                _("Adding %(count)s orders to %(shop)s…") % {"count": wanted - existing, "shop": target.slug}
            )

            def progress(done, total=wanted - existing):
                if verbosity > 1 or total >= 20000:
                    self.stdout.write(f"  {done}/{total}")

            result = generate_orders(
                target,
                wanted - existing,
                seller=owner,
                showcase=(3 if slug == "demo" else 1) if existing == 0 else 0,
                batch_size=batch_size,
                progress=progress,
            )
            added += result.orders
            self.stdout.write(
                _("  %(orders)s orders, %(rows)s rows in %(seconds).1f s")
                % {"orders": result.orders, "rows": result.total_rows, "seconds": result.seconds}
            )
        if not added:
            self.stdout.write(_("Demo data already loaded."))
        self.report(shops)

    def report(self, shops):
        self.stdout.write("")
        self.stdout.write(
            _("Sign in at /dashboard/ (password for every account: %(password)s)") % {"password": PASSWORD}
        )
        for spec in SHOPS:
            self.stdout.write(
                _("  %(email)s — owner of %(shop)s") % {"email": spec["owner"], "shop": spec["slug"]}
            )
        self.stdout.write(_("  %(email)s — administrator (/admin/)") % {"email": ADMIN_EMAIL})
        for target, _owner in shops.values():
            self.stdout.write(
                _("%(shop)s: %(orders)s orders, %(customers)s customers, %(coupons)s coupons")
                % {
                    "shop": target.slug,
                    "orders": Order.objects.filter(shop=target).count(),
                    "customers": target.customers.count(),
                    "coupons": target.coupons.count(),
                }
            )


def ensure_carriers() -> None:
    for data in DEFAULT_CARRIERS:
        Carrier.objects.get_or_create(code=data["code"], defaults=data)


def ensure_user(email: str, full_name: str, *, superuser: bool = False) -> User:
    """The user, created with the demo password; an existing user keeps the password they have."""
    user = User.objects.filter(email=email).first()
    if user is not None:
        return user
    if superuser:
        return User.objects.create_superuser(email, PASSWORD, full_name=full_name)
    return User.objects.create_user(email, PASSWORD, full_name=full_name)


@transaction.atomic
def ensure_shop(spec: dict, owner: User) -> Shop:
    shop, _created = Shop.objects.get_or_create(slug=spec["slug"], defaults=spec["defaults"])
    Membership.objects.get_or_create(user=owner, shop=shop, defaults={"role": Role.OWNER})
    now = timezone.now()
    for code, kind, value, extra in spec["coupons"]:
        extra = dict(extra)
        if "valid_until" in extra:
            extra["valid_until"] = now + timedelta(days=extra["valid_until"])
        Coupon.objects.get_or_create(
            shop=shop,
            code__iexact=code,
            defaults={"code": code, "kind": kind, "value": Decimal(value), **extra},
        )
    return shop
