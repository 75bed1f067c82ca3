from django.db import migrations


def seed_carriers(apps, schema_editor):
    from shipping.carriers import DEFAULT_CARRIERS

    Carrier = apps.get_model("shipping", "Carrier")
    for data in DEFAULT_CARRIERS:
        Carrier.objects.update_or_create(code=data["code"], defaults=data)


class Migration(migrations.Migration):
    dependencies = [("shipping", "0002_initial")]

    operations = [migrations.RunPython(seed_carriers, migrations.RunPython.noop)]
