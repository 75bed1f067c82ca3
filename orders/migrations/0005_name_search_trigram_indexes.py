"""Trigram indexes for the order search by name (``?q=`` of GET /api/v1/orders/).

The search matches ``UPPER(ship_name) LIKE UPPER('%text%')`` on the shop's orders and the same on the shop's
customers' names (Django's ``icontains``). A GIN index on ``(shop_id, UPPER(<name>) gin_trgm_ops)`` answers
each without reading the shop's orders, and only the shop's rows: ``btree_gin`` lets the shop's id live in
the same GIN index, so a name common in other shops costs nothing here.

PostgreSQL only: on SQLite (``make run``) every operation does nothing. The indexes live in the database
alone, not in the models' state (SQLite cannot build them), so ``makemigrations`` does not see them;
docs/api.md says so. Built with ``CREATE INDEX CONCURRENTLY`` so a large shop's orders stay writable
while the index is built (about half a minute at 1,000,000 orders), hence ``atomic = False``.
"""

from django.contrib.postgres.operations import BtreeGinExtension, TrigramExtension
from django.db import migrations

INDEXES = {
    # name: (table, text column), each GIN-indexed with the shop's id
    "order_shop_ship_name_trgm": ("orders_order", "ship_name"),
    "customer_shop_name_trgm": ("shop_customer", "name"),
}


class OnPostgresOnly:
    """Django's extension operations skip other databases going forwards but not back."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class TrigramExtensionOnPostgres(OnPostgresOnly, TrigramExtension):
    pass


class BtreeGinExtensionOnPostgres(OnPostgresOnly, BtreeGinExtension):
    pass


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, column) in INDEXES.items():
        # An interrupted concurrent build leaves an invalid index behind: drop it before building again.
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY {name} ON {table} USING gin (shop_id, UPPER({column}) gin_trgm_ops)"
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("orders", "0004_buyer_requests_feedback_checklist"),
    ]

    operations = [
        TrigramExtensionOnPostgres(),
        BtreeGinExtensionOnPostgres(),
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes, elidable=False),
    ]
