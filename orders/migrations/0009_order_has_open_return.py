"""Orders say whether a return of theirs is open, for the order list's "open return" filter."""

from django.db import migrations, models

OPEN_RETURN_STATES = ("requested", "approved", "received")


def mark_orders_with_open_returns(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    Return = apps.get_model("orders", "Return")
    returning = Return.objects.filter(status__in=OPEN_RETURN_STATES).values("order_id")
    Order.objects.filter(pk__in=returning).update(has_open_return=True)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0008_import_rows_copy"),
        ("shop", "0004_buyer_and_fulfilment_policy"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="has_open_return",
            field=models.BooleanField(
                db_default=False, default=False, editable=False, verbose_name="has an open return"
            ),
        ),
        migrations.RunPython(mark_orders_with_open_returns, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("has_open_return", True)),
                fields=["shop", "-placed_at", "-id"],
                name="order_shop_open_return",
            ),
        ),
    ]
