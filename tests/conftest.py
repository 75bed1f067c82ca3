import pytest

from tests.factories import MembershipFactory, ShopFactory, UserFactory


@pytest.fixture(autouse=True)
def media_in_a_temporary_directory(settings, tmp_path_factory):
    """Uploaded files (order imports) go to a directory of the test run, never the project's var/media."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def default_carriers(request):
    """The carriers a migration seeds; transactional tests flush every table, so put them back."""
    if request.node.get_closest_marker("django_db") is None and not {"db", "transactional_db"} & set(
        request.fixturenames
    ):
        return
    request.getfixturevalue("transactional_db" if _is_transactional(request) else "db")
    from shipping.carriers import install_default_carriers

    install_default_carriers()


def _is_transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return "transactional_db" in request.fixturenames or bool(marker and marker.kwargs.get("transaction"))


@pytest.fixture
def shop(db):
    return ShopFactory(name="Demo Threads", slug="demo-threads")


@pytest.fixture
def other_shop(db):
    return ShopFactory(name="Other Goods", slug="other-goods")


@pytest.fixture
def owner(shop):
    return MembershipFactory(shop=shop).user


@pytest.fixture
def admin_user(db):
    return UserFactory(email="admin@example.com", is_staff=True, is_superuser=True)
