"""``manage.py import_orders --shop SLUG FILE [--format auto|shopify|tiktok] [--dry-run]``.

Imports a TikTok Shop or Shopify orders export in this process (no worker needed): checks it, then applies
it unless ``--dry-run``, and prints what became of the orders, with the rows and reasons of the rejected
ones. The exit code is 1 when the whole file cannot be imported (not an export, unreadable...).
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from orders.imports import applying
from orders.models import ImportState, ItemOutcome
from shop.models import Shop


class Command(BaseCommand):
    help = "Import a TikTok Shop or Shopify orders export into a shop (in this process)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The exported CSV or XLSX file.")
        parser.add_argument("--shop", required=True, help="The shop's slug.")
        parser.add_argument("--format", default="auto", choices=["auto", "shopify", "tiktok"])
        parser.add_argument("--dry-run", action="store_true", help="Only say what would happen.")

    def handle(self, *args, file: str, shop: str, format: str, dry_run: bool, **options):
        self.verbosity = options.get("verbosity", 1)
        found = Shop.objects.filter(slug=shop).first()
        if found is None:
            raise CommandError(_("There is no shop with the slug %(slug)s.") % {"slug": shop})
        path = Path(file)
        if not path.is_file():
            raise CommandError(_("There is no file %(path)s.") % {"path": file})
        try:
            with path.open("rb") as upload:
                order_import = applying.receive_file(
                    found, upload, name=path.name, size=path.stat().st_size, format=format
                )
        except applying.ImportRefused as refused:
            raise CommandError(refused.message) from refused
        order_import = applying.preview(order_import, progress=self.progress)
        if order_import.state == ImportState.PREVIEWED and not dry_run:
            order_import = applying.apply(order_import, progress=self.progress)
        if order_import.state == ImportState.FAILED:
            raise CommandError(order_import.error)
        self.report(order_import, dry_run=dry_run)

    def progress(self, rows_done: int, rows_total: int) -> None:
        if self.verbosity > 1:
            self.stderr.write(f"{rows_done}/{rows_total}")

    def report(self, order_import, *, dry_run: bool) -> None:
        out = self.stdout.write
        facts = self._facts(order_import)
        if dry_run:
            out(
                ngettext(
                    "Checked %(file)s (%(format)s, %(rows)s row) for %(shop)s; nothing was written.",
                    "Checked %(file)s (%(format)s, %(rows)s rows) for %(shop)s; nothing was written.",
                    order_import.rows_total,
                )
                % facts
            )
            new, updated = order_import.orders_new, order_import.orders_updated
            lines = [
                ngettext("%(count)s order would be created", "%(count)s orders would be created", new)
                % {"count": new},
                ngettext("%(count)s order would be updated", "%(count)s orders would be updated", updated)
                % {"count": updated},
            ]
        else:
            out(
                ngettext(
                    "Imported %(file)s (%(format)s, %(rows)s row) into %(shop)s.",
                    "Imported %(file)s (%(format)s, %(rows)s rows) into %(shop)s.",
                    order_import.rows_total,
                )
                % facts
            )
            new, updated = order_import.orders_new, order_import.orders_updated
            lines = [
                ngettext("%(count)s order created", "%(count)s orders created", new) % {"count": new},
                ngettext("%(count)s order updated", "%(count)s orders updated", updated) % {"count": updated},
            ]
        unchanged, rejected = order_import.orders_unchanged, order_import.orders_rejected
        lines += [
            ngettext("%(count)s order unchanged", "%(count)s orders unchanged", unchanged)
            % {"count": unchanged},
            ngettext("%(count)s order rejected", "%(count)s orders rejected", rejected) % {"count": rejected},
        ]
        for line in lines:
            out(f"  {line}")
        rejected = order_import.items.filter(outcome=ItemOutcome.REJECTED).order_by("first_row")
        if order_import.orders_rejected:
            out(_("Rejected orders:"))
        for item in rejected.iterator():
            errors = [p for p in item.problems if p.get("level") == "error"] or item.problems
            reasons = "; ".join(self._problem(p) for p in errors)
            facts = {
                "first": item.first_row,
                "last": item.last_row,
                "id": item.external_id,
                "reasons": reasons,
            }
            if not item.external_id:
                where = _("row %(first)s, no order ID: %(reasons)s") % facts
            elif item.first_row == item.last_row:
                where = _("row %(first)s, order %(id)s: %(reasons)s") % facts
            else:
                where = _("rows %(first)s–%(last)s, order %(id)s: %(reasons)s") % facts
            out(f"  {where}")
        unknown = applying.unknown_status_texts(order_import)
        if unknown:
            out(
                _(
                    "Unknown statuses: %(texts)s. Say what they mean on the dashboard's import page, "
                    "then import the file again."
                )
                % {"texts": ", ".join(f"“{text}”" for text in unknown)}
            )

    @staticmethod
    def _facts(order_import) -> dict:
        return {
            "file": order_import.original_name,
            "format": order_import.get_format_display(),
            "rows": order_import.rows_total,
            "shop": order_import.shop.name,
        }

    @staticmethod
    def _problem(problem: dict) -> str:
        row, column = problem.get("row"), problem.get("column") or ""
        if row and column:
            return _("%(message)s (row %(row)s, column %(column)s)") % {**problem, "column": column}
        if row:
            return _("%(message)s (row %(row)s)") % problem
        if column:
            return _("%(message)s (column %(column)s)") % problem
        return problem["message"]
