from django.db import migrations


def install_carriers(apps, schema_editor):
    """Add the carriers detected by tracking_number_data (DHL eCommerce, DPD, OnTrac, Amazon Logistics,
    Yodel, YunExpress, LaserShip, Landmark Global, Purolator, the national postal service) and clear the
    patterns of built-in carriers, which are now detected by the data's formats and check digits."""
    from shipping.carriers import install_default_carriers

    install_default_carriers(apps.get_model("shipping", "Carrier"))


class Migration(migrations.Migration):
    dependencies = [("shipping", "0005_delayed_parcels_index")]

    operations = [migrations.RunPython(install_carriers, migrations.RunPython.noop)]
