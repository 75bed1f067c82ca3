"""The item editor of a pending order: one form per line (variant, quantity, remove), empty rows to add items,
and the order's version with the seller's choice about a coupon the change breaks.

``ItemsForm`` gathers them and turns what the seller typed into the ``LineSpec`` list that
``orders.services.modifications.seller_modify_lines`` takes: the whole order as the seller wants it (a kept
line keeps its SKU, name and price; a removed line is left out; a filled row is a new line).
"""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.models import Order, OrderLine
from orders.services.modifications import MAX_QUANTITY, NAME_MAX_LENGTH, SKU_MAX_LENGTH, VARIANT_MAX_LENGTH
from orders.services.placing import LineSpec

NEW_ROWS = 2
UNKNOWN_LINE = gettext_lazy(
    "This item is not in the order (it may have been removed meanwhile). Reload the order."
)
PRICE_MAX_DIGITS = OrderLine._meta.get_field("unit_price").max_digits


def _quantity_field(**kwargs) -> forms.IntegerField:
    return forms.IntegerField(
        label=gettext_lazy("Quantity"),
        max_value=MAX_QUANTITY,
        widget=forms.NumberInput(attrs={"min": 1, "max": MAX_QUANTITY, "inputmode": "numeric"}),
        error_messages={"invalid": gettext_lazy("Enter the quantity as a whole number.")},
        **kwargs,
    )


class LineEditForm(forms.Form):
    """One line of the order: its variant and quantity, or removed."""

    line = forms.IntegerField(
        widget=forms.HiddenInput, error_messages={"invalid": UNKNOWN_LINE, "required": UNKNOWN_LINE}
    )
    variant = forms.CharField(
        label=gettext_lazy("Variant"),
        max_length=VARIANT_MAX_LENGTH,
        required=False,
        help_text=gettext_lazy("Size, colour…"),
    )
    quantity = _quantity_field(required=False)
    remove = forms.BooleanField(label=gettext_lazy("Remove this item"), required=False)

    def __init__(self, *args, current: dict[int, OrderLine], **kwargs):
        super().__init__(*args, **kwargs)
        raw = self.data.get(self.add_prefix("line")) if self.is_bound else self.initial.get("line")
        try:
            self.order_line = current.get(int(raw))
        except (TypeError, ValueError):
            self.order_line = None

    def clean_line(self):
        line_id = self.cleaned_data["line"]
        if self.order_line is None or self.order_line.pk != line_id:
            raise forms.ValidationError(UNKNOWN_LINE, code="unknown_line")
        return line_id

    def clean(self):
        data = super().clean()
        quantity = data.get("quantity")
        if data.get("remove") or self.has_error("quantity"):
            return data
        if quantity is None:
            self.add_error("quantity", _("Enter the quantity, or tick “Remove this item”."))
        elif quantity < 1:
            self.add_error(
                "quantity",
                _(
                    "The quantity must be at least 1. "
                    "To take the item off the order, tick “Remove this item”."
                ),
            )
        return data


class NewLineForm(forms.Form):
    """A row to add an item; left empty, it adds nothing."""

    sku = forms.CharField(label=gettext_lazy("SKU"), max_length=SKU_MAX_LENGTH)
    name = forms.CharField(label=gettext_lazy("Product name"), max_length=NAME_MAX_LENGTH)
    variant = forms.CharField(label=gettext_lazy("Variant"), max_length=VARIANT_MAX_LENGTH, required=False)
    quantity = _quantity_field(initial=1, min_value=1)
    unit_price = forms.DecimalField(
        label=gettext_lazy("Unit price"),
        min_value=Decimal("0"),
        max_digits=PRICE_MAX_DIGITS,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
    )

    def __init__(self, *args, currency: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if currency:
            self.fields["unit_price"].label = _("Unit price (%(currency)s)") % {"currency": currency}
        self.fields["quantity"].error_messages["min_value"] = _("The quantity must be at least 1.")


class BaseLineFormSet(forms.BaseFormSet):
    """Every row is a line of the order: none may be skipped as an untouched extra row."""

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        form.empty_permitted = False
        return form

    def clean(self):
        if any(self.errors):
            return
        seen = set()
        for form in self.forms:
            line_id = form.cleaned_data.get("line")
            if line_id in seen:
                raise forms.ValidationError(_("An item is listed twice; reload the order."), code="duplicate")
            seen.add(line_id)


LineFormSet = forms.formset_factory(LineEditForm, formset=BaseLineFormSet, extra=0, max_num=500)
NewLineFormSet = forms.formset_factory(NewLineForm, extra=NEW_ROWS, max_num=50)


class ChangeForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    drop_coupon = forms.BooleanField(
        label=gettext_lazy("Take the coupon off the order and apply the change"), required=False
    )


def _row_count(data, prefix: str) -> int:
    try:
        return max(0, int(data.get(f"{prefix}-TOTAL_FORMS", 0)))
    except (TypeError, ValueError):
        return 0


class ItemsForm:
    """The whole editor: the lines, the rows to add, the version and the coupon choice, validated together.

    ``errors`` holds the page's own messages (what no single field caused); ``spec_fields`` maps the index
    of each ``LineSpec`` back to its form, so a service error such as ``lines.2.sku`` lands beside the field.
    """

    def __init__(self, order: Order, data=None):
        self.order = order
        self.current = {line.pk: line for line in order.lines.all()}
        self.lines = LineFormSet(
            data,
            prefix="lines",
            initial=[
                {"line": line.pk, "variant": line.variant, "quantity": line.quantity}
                for line in self.current.values()
            ],
            form_kwargs={"current": self.current},
        )
        self.new_lines = NewLineFormSet(data, prefix="new", form_kwargs={"currency": order.currency})
        self.change = ChangeForm(data, initial={"version": order.version})
        self.errors: list[str] = []
        self.spec_forms: list[forms.Form] = []

    @classmethod
    def refreshed(cls, order: Order, data) -> "ItemsForm":
        """The seller's input on top of the order as it is now (after a stale save): the fresh version, and a
        row for every line added meanwhile, so that saving again never drops a line the seller has not seen.
        """
        data = data.copy()
        data["version"] = order.version
        total = _row_count(data, "lines")
        posted = {data.get(f"lines-{index}-line") for index in range(total)}
        for line in order.lines.all():
            if str(line.pk) not in posted:
                data[f"lines-{total}-line"] = line.pk
                data[f"lines-{total}-variant"] = line.variant
                data[f"lines-{total}-quantity"] = line.quantity
                total += 1
        data["lines-TOTAL_FORMS"] = data["lines-INITIAL_FORMS"] = total
        return cls(order, data)

    def is_valid(self) -> bool:
        valid = all(part.is_valid() for part in (self.lines, self.new_lines, self.change))
        if self.change.errors:
            self.errors.append(_("The form is incomplete. Reload the order and try again."))
        if not valid:
            return False
        if not self.line_specs():
            self.errors.append(
                _("Keep at least one item. To stop the whole order, cancel it from the order page.")
            )
            return False
        return True

    def filled_new_lines(self) -> list[forms.Form]:
        return [form for form in self.new_lines if form.has_changed() and form.cleaned_data]

    def line_specs(self) -> list[LineSpec]:
        """The order as the seller wants it; call after ``is_valid``."""
        specs, self.spec_forms = [], []
        for form in self.lines:
            if form.cleaned_data["remove"]:
                continue
            line = form.order_line
            specs.append(
                LineSpec(
                    id=line.pk,
                    sku=line.sku,
                    name=line.name,
                    variant=form.cleaned_data["variant"],
                    quantity=form.cleaned_data["quantity"],
                    unit_price=line.unit_price,
                )
            )
            self.spec_forms.append(form)
        for form in self.filled_new_lines():
            data = form.cleaned_data
            specs.append(
                LineSpec(
                    sku=data["sku"],
                    name=data["name"],
                    variant=data["variant"],
                    quantity=data["quantity"],
                    unit_price=data["unit_price"],
                )
            )
            self.spec_forms.append(form)
        return specs

    @property
    def version(self) -> int:
        return self.change.cleaned_data["version"]

    @property
    def drop_coupon(self) -> bool:
        return self.change.cleaned_data["drop_coupon"]

    def add_service_error(self, field: str | None, message: str) -> None:
        """Put a service's error beside the field it names (``lines.<n>.<field>``), else on the page."""
        parts = (field or "").split(".")
        if len(parts) >= 2 and parts[0] == "lines" and parts[1].isdigit() and self.spec_forms:
            index = int(parts[1])
            if index < len(self.spec_forms):
                form = self.spec_forms[index]
                name = parts[2] if len(parts) > 2 and parts[2] in form.fields else None
                if name is not None:
                    form.add_error(name, message)
                    return
        self.errors.append(message)

    def has_errors(self) -> bool:
        return bool(
            self.errors
            or any(self.lines.errors)
            or self.lines.non_form_errors()
            or any(self.new_lines.errors)
            or self.new_lines.non_form_errors()
        )
