"""Forms of the order list: the filters (a GET form), the bulk actions and saved views."""

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from dashboard.models import SavedView
from dashboard.selectors.orders import DEFAULT_SORT, SORT_LABELS, OrderListQuery
from orders.states import OrderStatus, PaymentStatus
from shipping.models import Carrier

# Query-string keys the list understands (a saved view keeps only these).
FILTER_KEYS = (
    "status",
    "payment_status",
    "from",
    "to",
    "carrier",
    "coupon",
    "late",
    "delayed",
    "open_return",
    "awaiting_reply",
    "q",
    "sort",
)
MAX_BULK_SELECTION = 500


class OrderFilterForm(forms.Form):
    """The list's query string. Invalid values are dropped (a hand-edited URL still shows a list)."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=2000,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("Order numbers, email, name, tracking number, SKU"),
                "aria-describedby": "search-help",
            }
        ),
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *OrderStatus.choices]
    )
    payment_status = forms.ChoiceField(
        label=_("Payment"), required=False, choices=[("", _("Any payment")), *PaymentStatus.choices]
    )
    carrier = forms.ChoiceField(label=_("Carrier"), required=False)
    coupon = forms.CharField(label=_("Coupon code"), required=False, max_length=40)
    late = forms.BooleanField(label=_("Late"), required=False)
    delayed = forms.BooleanField(label=_("Delayed in transit"), required=False)
    open_return = forms.BooleanField(label=_("Open return"), required=False)
    awaiting_reply = forms.BooleanField(label=_("Buyer awaiting reply"), required=False)
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=list(SORT_LABELS.items()))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "from" and "to" are Python keywords: declared here so the query string keeps its short names.
        self.fields["from"] = forms.DateField(
            label=_("Placed from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
        )
        self.fields["to"] = forms.DateField(
            label=_("Placed to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
        )
        for name in self.AUTO_APPLY:
            self.fields[name].widget.attrs["class"] = "auto-filter"
        self.fields["carrier"].choices = [
            ("", _("Any carrier")),
            *Carrier.objects.filter(is_active=True).order_by("name").values_list("code", "name"),
        ]

    # Controls that apply as soon as they change (with htmx); dates and text wait for the button.
    AUTO_APPLY = ("payment_status", "carrier", "sort", "late", "delayed", "open_return", "awaiting_reply")

    def to_query(self) -> OrderListQuery:
        """The valid part of the filters as the selector's query."""
        self.is_valid()
        data = {name: value for name, value in self.cleaned_data.items()}
        return OrderListQuery(
            status=data.get("status") or "",
            payment_status=data.get("payment_status") or "",
            placed_from=data.get("from"),
            placed_to=data.get("to"),
            carrier=data.get("carrier") or "",
            coupon=(data.get("coupon") or "").strip(),
            late=bool(data.get("late")),
            delayed=bool(data.get("delayed")),
            open_return=bool(data.get("open_return")),
            awaiting_reply=bool(data.get("awaiting_reply")),
            search=data.get("q") or "",
            sort=data.get("sort") or DEFAULT_SORT,
        )


class BulkActionForm(forms.Form):
    ACTIONS = [
        ("process", _("Process")),
        ("cancel", _("Cancel")),
        ("slips", _("Print packing slips")),
        ("export", _("Export CSV")),
    ]
    """The selected orders (checkboxes named ``orders``, valued with order numbers) and what to do."""

    action = forms.ChoiceField(choices=ACTIONS)
    reason = forms.CharField(label=_("Reason for cancelling"), required=False, max_length=300)

    def clean(self):
        cleaned = super().clean()
        numbers = list(dict.fromkeys(n.strip().upper() for n in self.data.getlist("orders") if n.strip()))
        if not numbers:
            self.add_error(None, _("Select at least one order."))
        elif len(numbers) > MAX_BULK_SELECTION:
            self.add_error(
                None, _("Select at most %(limit)s orders at a time.") % {"limit": MAX_BULK_SELECTION}
            )
        cleaned["orders"] = numbers
        if cleaned.get("action") == "cancel" and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", _("Say why the orders are cancelled."))
        return cleaned


class SavedViewForm(forms.ModelForm):
    class Meta:
        model = SavedView
        fields = ["name", "query"]
        labels = {"name": _("Name this view")}
        widgets = {"query": forms.HiddenInput}

    def clean_name(self) -> str:
        return self.cleaned_data["name"].strip()

    def clean_query(self) -> str:
        """Keep only the list's filters (never a cursor or a saved-view id)."""
        return filters_only(self.cleaned_data.get("query") or "")


def filters_only(query_string: str) -> str:
    params = QueryDict(query_string, mutable=True)
    kept = QueryDict(mutable=True)
    for key in FILTER_KEYS:
        values = [v for v in params.getlist(key) if v.strip()]
        if values:
            kept.setlist(key, values)
    return kept.urlencode()
