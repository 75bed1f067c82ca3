"""API test fixtures: a client per shop holding that shop's key, and every response checked against the
OpenAPI schema the app publishes."""

import re

import jsonschema
import pytest
from django.core.cache import cache
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from shop.models import ApiKey
from tests.factories import ShopFactory

_schema = None


def openapi_schema() -> dict:
    global _schema
    if _schema is None:
        _schema = SchemaGenerator().get_schema(request=None, public=True)
    return _schema


def _template_of(path: str) -> str | None:
    match = resolve(path)
    if match.url_name in (None, "not-found", "schema", "docs"):
        return None
    # drf-spectacular names a "pk" path parameter "id".
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", match.route).replace("{pk}", "{id}")


def assert_conforms(method: str, path: str, response) -> None:
    """The response's status is documented for this operation and its JSON body matches the schema."""
    template = _template_of(path.split("?")[0])
    if template is None:
        return
    schema = openapi_schema()
    if method.lower() not in schema["paths"][template]:
        assert response.status_code == 405, f"{method} {template} is not documented yet answered"
        assert set(response.json()) == {"error"}
        return
    operation = schema["paths"][template][method.lower()]
    documented = operation["responses"]
    assert str(response.status_code) in documented, (
        f"{method} {template} answered {response.status_code}, which the schema does not document"
    )
    content = documented[str(response.status_code)].get("content")
    if content is None:
        assert not response.content, f"{method} {template} {response.status_code} should have no body"
        return
    body_schema = {**content["application/json"]["schema"], "components": schema["components"]}
    validator = jsonschema.Draft202012Validator(body_schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(response.json()), key=str)
    assert not errors, f"{method} {template} {response.status_code} breaks the schema: {errors[0]}"


class CheckedClient(APIClient):
    """An APIClient whose every answer must match the published OpenAPI schema."""

    def generic(self, method, path, *args, **kwargs):
        response = super().generic(method, path, *args, **kwargs)
        assert_conforms(method, path, response)
        return response


def client_for(shop) -> CheckedClient:
    _, raw_key = ApiKey.issue(shop=shop, name="tests")
    client = CheckedClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    client.raw_key = raw_key
    return client


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(shop):
    return client_for(shop)


@pytest.fixture
def other_shop(db):
    return ShopFactory(name="Other Goods", slug="other-goods")


@pytest.fixture
def other_api(other_shop):
    return client_for(other_shop)


@pytest.fixture
def anonymous():
    return CheckedClient()
