from django.db import migrations


def seed_carriers(apps, schema_editor):
    from shipping.carriers import install_default_carriers

    install_default_carriers(apps.get_model("shipping", "Carrier"))


class Migration(migrations.Migration):
    dependencies = [("shipping", "0002_initial")]

    operations = [migrations.RunPython(seed_carriers, migrations.RunPython.noop)]
