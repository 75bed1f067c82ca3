"""Dashboard fixtures: a shop with an owner, a manager and a staff member, and clients signed in as each."""

import pytest
from django.test import Client

from shop.models import Role
from tests.factories import MembershipFactory


@pytest.fixture
def manager(shop):
    return MembershipFactory(shop=shop, role=Role.MANAGER, user__email="manager@example.com").user


@pytest.fixture
def staff(shop):
    return MembershipFactory(shop=shop, role=Role.STAFF, user__email="staff@example.com").user


@pytest.fixture
def other_owner(other_shop):
    return MembershipFactory(shop=other_shop, user__email="owner@other.example").user


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner):
    return signed_in(owner)


@pytest.fixture
def manager_client(manager):
    return signed_in(manager)


@pytest.fixture
def staff_client(staff):
    return signed_in(staff)


@pytest.fixture
def other_client(other_owner):
    return signed_in(other_owner)
