"""Dashboard: the numbers page — a date range, a chart of orders and revenue per day, and the key rates."""

from datetime import timedelta

from django import forms
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shop.models import Role

from ..access import seller_view
from ..selectors.numbers import MAX_DAYS, DateRange, default_range, shop_numbers

PRESETS = (7, 30, 90)


class DateRangeForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=gettext_lazy("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("Pick a day on or after the start."))
            elif (end - start).days + 1 > MAX_DAYS:
                self.add_error("end", _("Pick at most %(days)s days.") % {"days": MAX_DAYS})
        return cleaned


def chosen_range(request) -> tuple[DateRange, DateRangeForm, int | None]:
    """The range from ?from=&to= (YYYY-MM-DD) or a ?days= preset; 30 days when absent or invalid."""
    days = request.GET.get("days", "")
    if days.isdigit() and int(days) in PRESETS:
        date_range = default_range(request.shop, days=int(days))
        form = DateRangeForm(initial={"start": date_range.start, "end": date_range.end})
        return date_range, form, int(days)
    if "from" in request.GET or "to" in request.GET:
        form = DateRangeForm({"start": request.GET.get("from", ""), "end": request.GET.get("to", "")})
        if form.is_valid():
            return DateRange(form.cleaned_data["start"], form.cleaned_data["end"]), form, None
        return default_range(request.shop), form, None
    date_range = default_range(request.shop)
    return date_range, DateRangeForm(initial={"start": date_range.start, "end": date_range.end}), 30


@seller_view(Role.STAFF)
def numbers(request):
    date_range, form, preset = chosen_range(request)
    figures = shop_numbers(request.shop, date_range)
    chart = {
        "labels": [day.day.isoformat() for day in figures.per_day],
        "orders": [day.orders for day in figures.per_day],
        "revenue": [float(day.revenue) for day in figures.per_day],
        "ordersLabel": _("Orders"),
        "revenueLabel": _("Revenue (%(currency)s)") % {"currency": request.shop.currency},
    }
    return render(
        request,
        "dashboard/numbers/numbers.html",
        {
            "form": form,
            "figures": figures,
            "chart": chart,
            "presets": PRESETS,
            "preset": preset,
            "median_hours": _hours(figures.median_time_to_ship),
        },
    )


def _hours(duration: timedelta | None) -> float | None:
    return round(duration.total_seconds() / 3600, 1) if duration is not None else None


urlpatterns = [path("numbers/", numbers, name="numbers")]
