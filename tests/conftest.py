import pytest

from tests.factories import MembershipFactory, ShopFactory, UserFactory


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
