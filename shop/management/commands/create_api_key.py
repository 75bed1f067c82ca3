"""``manage.py create_api_key --shop SLUG --name NAME``: create an API key and print it (the only time)."""

from django.core.management.base import BaseCommand, CommandError

from shop.models import ApiKey, Shop, User


class Command(BaseCommand):
    help = "Create an API key for a shop and print it. Only its hash is stored: copy it now."

    def add_arguments(self, parser):
        parser.add_argument("--shop", required=True, help="The shop's slug.")
        parser.add_argument("--name", required=True, help="What will use the key, e.g. storefront.")
        parser.add_argument("--created-by", default="", help="Email of the user creating it (optional).")

    def handle(self, *args, shop: str, name: str, created_by: str, **options):
        found = Shop.objects.filter(slug=shop).first()
        if found is None:
            raise CommandError(f"There is no shop with the slug {shop!r}.")
        user = None
        if created_by:
            user = User.objects.filter(email=created_by.lower()).first()
            if user is None:
                raise CommandError(f"There is no user {created_by!r}.")
        key, raw_key = ApiKey.issue(shop=found, name=name.strip() or "API", created_by=user)
        self.stderr.write(f"API key {key.prefix}… for {found.name}; it is shown only once:")
        self.stdout.write(raw_key)
