"""Shapes of the API: input serializers only check types and sizes (rules live in the services); output
serializers render models. The names here are the contract in docs/api.md."""

from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rest_framework import serializers

from orders.models import Coupon, CouponKind, Order
from orders.services.modifications import MAX_QUANTITY, NAME_MAX_LENGTH, SKU_MAX_LENGTH, VARIANT_MAX_LENGTH
from orders.states import PaymentMethod, PaymentStatus, allowed_moves
from shipping.models import ShipmentStatus

MAX_AMOUNT = Decimal("9999999999.99")
MAX_ID = 2**62


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo is a 400 rather than silently ignored."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
        return super().to_internal_value(data)


def money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"), **kwargs)


def version_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        help_text="The order's version as last read; a stale one is refused (or send If-Match).",
    )


# --- input ----------------------------------------------------------------------------------------------


class CustomerInput(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")


class AddressInput(StrictSerializer):
    name = serializers.CharField(max_length=150)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True)
    country = serializers.CharField(min_length=2, max_length=2, help_text="ISO 3166 code, e.g. US.")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)


class AddressPatchInput(AddressInput):
    """A change of address: the fields sent replace the current ones, the others stay."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class LineInput(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200)
    variant = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)
    unit_price = money(help_text='A decimal string, e.g. "15.00".')


class OrderCreateInput(StrictSerializer):
    customer = CustomerInput()
    shipping_address = AddressInput()
    lines = LineInput(many=True, min_length=1, max_length=500)
    shipping_price = money(required=False, default=Decimal("0.00"))
    tax = money(required=False, default=Decimal("0.00"))
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices, default=PaymentMethod.CARD)
    payment_status = serializers.ChoiceField(
        choices=[
            (PaymentStatus.UNPAID, PaymentStatus.UNPAID.label),
            (PaymentStatus.PAID, PaymentStatus.PAID.label),
        ],
        default=PaymentStatus.UNPAID,
    )
    coupon_code = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False)

    def validate(self, attrs):
        subtotal = sum((line["unit_price"] * line["quantity"] for line in attrs["lines"]), Decimal("0"))
        if subtotal + attrs["shipping_price"] + attrs["tax"] > MAX_AMOUNT:
            raise serializers.ValidationError({"lines": [_("The order total is too large.")]})
        return attrs


class OrderPatchInput(StrictSerializer):
    version = version_field()
    shipping_address = AddressPatchInput(required=False)
    internal_note = serializers.CharField(
        max_length=2000,
        required=False,
        help_text="Adds a note to the order's timeline (not shown to the buyer).",
    )

    def validate(self, attrs):
        if "shipping_address" not in attrs and "internal_note" not in attrs:
            raise serializers.ValidationError(_("Send shipping_address or internal_note."))
        return attrs


class VersionInput(StrictSerializer):
    version = version_field()


class CancelInput(VersionInput):
    reason = serializers.CharField(max_length=300)


class ParcelLineInput(StrictSerializer):
    line = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The order line's id.")
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)


class ShipInput(VersionInput):
    carrier = serializers.SlugField(
        max_length=30, required=False, allow_blank=True, help_text="Left out: detected."
    )
    tracking_number = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    no_tracking = serializers.BooleanField(required=False, default=False)
    estimated_delivery = serializers.DateField(required=False, allow_null=True)
    lines = ParcelLineInput(
        many=True,
        required=False,
        min_length=1,
        max_length=500,
        help_text="Left out: everything not yet shipped.",
    )


class ReturnRequestInput(StrictSerializer):
    reason = serializers.CharField(max_length=500)
    lines = ParcelLineInput(many=True, min_length=1, max_length=500)


class ReasonInput(StrictSerializer):
    reason = serializers.CharField(max_length=500)


class RefundInput(StrictSerializer):
    amount = money(required=False, allow_null=True, help_text="Left out: the returned items' price.")


class EmptyInput(StrictSerializer):
    pass


class CartLineInput(StrictSerializer):
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)
    unit_price = money()


class CouponValidateInput(StrictSerializer):
    code = serializers.CharField(max_length=40)
    email = serializers.EmailField(
        required=False, allow_blank=True, help_text="The buyer, for per-customer rules."
    )
    lines = CartLineInput(many=True, min_length=1, max_length=500)
    shipping_price = money(required=False, default=Decimal("0.00"))


class OrderListQuery(StrictSerializer):
    status = serializers.CharField(required=False, max_length=200, help_text="Comma-separated statuses.")
    payment_status = serializers.CharField(required=False, max_length=200)
    placed_after = serializers.DateTimeField(required=False)
    placed_before = serializers.DateTimeField(required=False)
    updated_since = serializers.DateTimeField(required=False)
    late = serializers.BooleanField(required=False, allow_null=True, default=None)
    has_open_return = serializers.BooleanField(required=False, allow_null=True, default=None)
    q = serializers.CharField(
        required=False, max_length=200, help_text="Order number, email, tracking number or name."
    )
    cursor = serializers.CharField(required=False, max_length=500)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=25)
    shop = serializers.CharField(
        required=False, max_length=60, help_text="Session auth only: the shop's slug."
    )


class CursorQuery(StrictSerializer):
    cursor = serializers.CharField(required=False, max_length=500)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=50)
    shop = serializers.CharField(
        required=False, max_length=60, help_text="Session auth only: the shop's slug."
    )


class LineEditInput(StrictSerializer):
    """One line of the order as the seller wants it: with ``id`` an existing line, without it a new one."""

    id = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="An existing line's id (it keeps its id); left out or null: a new line.",
    )
    sku = serializers.CharField(max_length=SKU_MAX_LENGTH)
    name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    variant = serializers.CharField(
        max_length=VARIANT_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="Size, colour...",
    )
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    unit_price = money(help_text='A decimal string, e.g. "15.00".')


class LinesPatchInput(StrictSerializer):
    """The whole list of lines of a pending order (lines is required): listed lines are kept or added, the
    others removed."""

    # context["charges"]: the order's shipping price and tax, so that a total too large for the money
    # columns is a 400 here rather than a database error.

    version = version_field()
    lines = LineEditInput(many=True, min_length=1, max_length=500)
    drop_coupon_if_invalid = serializers.BooleanField(
        required=False,
        default=False,
        help_text="If the order's coupon no longer applies to the new lines, take it off instead of refusing "
        "the change (the total goes up).",
    )

    def validate_lines(self, lines):
        seen: set[int] = set()
        errors: dict[int, dict] = {}  # keyed by position, as DRF reports a list's item errors
        for index, line in enumerate(lines):
            line_id = line.get("id")
            if line_id in seen:
                errors[index] = {"id": [_("This line is listed twice; list each line once.")]}
            elif line_id is not None:
                seen.add(line_id)
        if errors:
            raise serializers.ValidationError(errors)
        return lines

    def validate(self, attrs):
        subtotal = sum((line["unit_price"] * line["quantity"] for line in attrs["lines"]), Decimal("0"))
        if subtotal + self.context.get("charges", Decimal("0")) > MAX_AMOUNT:
            raise serializers.ValidationError({"lines": [_("The order total is too large.")]})
        return attrs


class ApproveRequestInput(VersionInput):
    drop_coupon_if_invalid = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Item changes only: if the order's coupon no longer applies to the changed items, take it "
        "off instead of refusing the approval (the total goes up).",
    )


class DeclineRequestInput(VersionInput):
    reason = serializers.CharField(max_length=500, help_text="Why; the buyer reads it in the email.")


class BuyerRequestListQuery(CursorQuery):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=25)
    status = serializers.CharField(
        required=False, max_length=200, help_text="Comma-separated: open, approved, declined, withdrawn."
    )
    kind = serializers.CharField(
        required=False,
        max_length=200,
        help_text="Comma-separated: address_change, cancellation, modification.",
    )
    order = serializers.CharField(required=False, max_length=32, help_text="An order number.")


class CustomerListQuery(CursorQuery):
    email = serializers.CharField(required=False, max_length=254)


class EventFeedQuery(StrictSerializer):
    after = serializers.CharField(
        required=False, max_length=500, help_text="The next_cursor of the last page."
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)
    shop = serializers.CharField(
        required=False, max_length=60, help_text="Session auth only: the shop's slug."
    )


# --- output ---------------------------------------------------------------------------------------------


class LineOutput(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    variant = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)


class OrderCustomerOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField()
    phone = serializers.CharField()


class CustomerOutput(OrderCustomerOutput):
    order_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class AddressOutput(serializers.Serializer):
    name = serializers.CharField(source="ship_name")
    line1 = serializers.CharField(source="ship_line1")
    line2 = serializers.CharField(source="ship_line2")
    city = serializers.CharField(source="ship_city")
    region = serializers.CharField(source="ship_region")
    postal_code = serializers.CharField(source="ship_postal_code")
    country = serializers.CharField(source="ship_country")
    phone = serializers.CharField(source="ship_phone")


class ParcelLineOutput(serializers.Serializer):
    line = serializers.IntegerField(source="order_line_id")
    quantity = serializers.IntegerField()


class TrackingEventOutput(serializers.Serializer):
    occurred_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=ShipmentStatus.choices)
    location = serializers.CharField()
    description = serializers.CharField()
    source = serializers.CharField()


class ShipmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    order = serializers.CharField(source="order.number")
    carrier = serializers.CharField(source="carrier.code")
    carrier_name = serializers.CharField(source="carrier.name")
    tracking_number = serializers.CharField()
    tracking_url = serializers.CharField(help_text="The carrier's tracking page; empty without tracking.")
    status = serializers.ChoiceField(choices=ShipmentStatus.choices)
    shipped_at = serializers.DateTimeField()
    estimated_delivery = serializers.DateField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    lines = ParcelLineOutput(many=True)
    events = TrackingEventOutput(many=True)


class ReturnOutput(serializers.Serializer):
    id = serializers.IntegerField()
    order = serializers.CharField(source="order.number")
    status = serializers.CharField()
    reason = serializers.CharField()
    rejection_reason = serializers.CharField()
    refund_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    requested_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    received_at = serializers.DateTimeField(allow_null=True)
    refunded_at = serializers.DateTimeField(allow_null=True)
    lines = ParcelLineOutput(many=True)


class EventOutput(serializers.Serializer):
    id = serializers.IntegerField()
    order = serializers.CharField(source="order.number")
    kind = serializers.CharField()
    message = serializers.CharField()
    data = serializers.DictField()
    actor_kind = serializers.CharField()
    created_at = serializers.DateTimeField()


class OrderOutput(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.CharField()
    allowed_moves = serializers.SerializerMethodField(help_text="The states this order may move to next.")
    payment_status = serializers.CharField()
    payment_method = serializers.CharField()
    version = serializers.IntegerField()
    currency = serializers.CharField()
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    shipping_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    tax = serializers.DecimalField(max_digits=12, decimal_places=2)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    refunded_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    coupon_code = serializers.SerializerMethodField()
    customer = OrderCustomerOutput()
    shipping_address = AddressOutput(source="*")
    note = serializers.CharField()
    lines = LineOutput(many=True)
    shipments = ShipmentOutput(many=True)
    returns = ReturnOutput(many=True)
    events = EventOutput(many=True)
    tracking_url = serializers.SerializerMethodField(help_text="The buyer's tracking page for this order.")
    placed_at = serializers.DateTimeField()
    processed_at = serializers.DateTimeField(allow_null=True)
    shipped_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    returned_at = serializers.DateTimeField(allow_null=True)
    cancel_reason = serializers.CharField()
    updated_at = serializers.DateTimeField()

    def get_allowed_moves(self, order: Order) -> list[str]:
        return [str(s) for s in allowed_moves(order.status)]

    def get_coupon_code(self, order: Order) -> str | None:
        return order.coupon.code if order.coupon_id else None

    def get_tracking_url(self, order: Order) -> str:
        return f"{settings.SITE_URL}/track/{order.public_token}/"


class OrderPageOutput(serializers.Serializer):
    results = OrderOutput(many=True)
    next_cursor = serializers.CharField(allow_null=True, help_text="Pass as ?cursor= for the next page.")


class ShipmentPageOutput(serializers.Serializer):
    results = ShipmentOutput(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class CustomerPageOutput(serializers.Serializer):
    results = CustomerOutput(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class EventPageOutput(serializers.Serializer):
    results = EventOutput(many=True)
    next_cursor = serializers.CharField(help_text="Pass as ?after= to get the events written since.")


class LinesChangeOutput(serializers.Serializer):
    order = OrderOutput(help_text="The order after the change.")
    old_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    new_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    difference = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        help_text="new_total minus old_total: positive, the buyer owes it; negative, the buyer is due a "
        "refund of its absolute value; zero, nothing to settle. Payment itself is not touched.",
    )
    settlement = serializers.ChoiceField(
        choices=[("to_pay", "to_pay"), ("to_refund", "to_refund"), ("none", "none")],
        help_text="to_pay: the buyer owes amount; to_refund: the buyer is due amount; none.",
    )
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="The absolute value of difference."
    )
    dropped_coupon = serializers.CharField(
        allow_null=True, help_text="The coupon code taken off the order (drop_coupon_if_invalid), else null."
    )


class BuyerRequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    order = serializers.CharField(source="order.number", help_text="The order's number.")
    kind = serializers.CharField(help_text="address_change, cancellation or modification (an item change).")
    status = serializers.CharField(
        help_text="open (waiting for the seller), approved, declined or withdrawn."
    )
    payload = serializers.DictField(
        help_text="What was asked. address_change: the proposed address fields; cancellation: {reason}; "
        "modification: {changes: [{line_id, sku, name, unit_price, before: {variant, quantity}, "
        "after: {variant, quantity}}]}."
    )
    message = serializers.CharField(help_text="The buyer's message.")
    decline_reason = serializers.CharField(help_text="Why it was declined (the buyer read it); else empty.")
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class BuyerRequestPageOutput(serializers.Serializer):
    results = BuyerRequestOutput(many=True)
    next_cursor = serializers.CharField(allow_null=True, help_text="Pass as ?cursor= for the next page.")


class CouponSerializer(serializers.ModelSerializer):
    class Meta:
        model = Coupon
        fields = [
            "id",
            "code",
            "kind",
            "value",
            "valid_from",
            "valid_until",
            "usage_limit",
            "per_customer_limit",
            "min_subtotal",
            "min_quantity",
            "returning_customers_only",
            "is_active",
            "times_used",
            "description",
            "created_at",
        ]
        read_only_fields = ["id", "times_used", "created_at"]
        extra_kwargs = {
            "value": {"min_value": Decimal("0")},
            "min_subtotal": {"min_value": Decimal("0")},
            "usage_limit": {"max_value": 2**31 - 1},
            "per_customer_limit": {"max_value": 2**31 - 1},
            "min_quantity": {"max_value": 2**31 - 1},
            "code": {"validators": []},
        }

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
        return super().to_internal_value(data)

    def validate_code(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError(_("Enter a code."))
        shop = self.context["shop"]
        taken = Coupon.objects.filter(shop=shop, code__iexact=value)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError(_("This shop already has a coupon with this code."))
        return value

    def validate(self, attrs):
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        value = attrs.get("value", getattr(self.instance, "value", Decimal("0")))
        if kind == CouponKind.PERCENTAGE and value > 100:
            raise serializers.ValidationError({"value": [_("A percentage is at most 100.")]})
        valid_from = attrs.get("valid_from", getattr(self.instance, "valid_from", None))
        valid_until = attrs.get("valid_until", getattr(self.instance, "valid_until", None))
        if valid_from and valid_until and valid_until < valid_from:
            raise serializers.ValidationError({"valid_until": [_("The end is before the start.")]})
        limit = attrs.get("usage_limit", getattr(self.instance, "usage_limit", None))
        if limit is not None and self.instance is not None and limit < self.instance.times_used:
            raise serializers.ValidationError(
                {
                    "usage_limit": [
                        ngettext(
                            "The coupon has already been used %(count)s time.",
                            "The coupon has already been used %(count)s times.",
                            self.instance.times_used,
                        )
                        % {"count": self.instance.times_used}
                    ]
                }
            )
        return attrs


class CouponQuoteOutput(serializers.Serializer):
    code = serializers.CharField()
    valid = serializers.BooleanField()
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    shipping_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
