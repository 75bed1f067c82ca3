"""Schemathesis against the live app: thousands of generated requests over every operation (examples,
coverage, fuzzing and the stateful phase); any 5xx, schema violation or ignored authentication fails."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from orders.services import Actor, request_address_change, request_modification, request_return
from tests.factories import CouponFactory, ShopFactory, order_in, place

from .conftest import client_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "ignored_auth",
    ]
)
MIN_REQUESTS = 2000


def test_schemathesis_finds_nothing(live_server, tmp_path, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "api_key": "100000/minute",
        },
    }
    shop = ShopFactory(slug="fuzzed")
    delivered = order_in("delivered", shop)
    request_return(delivered, lines={delivered.lines.first().pk: 1}, reason="Too big", by=Actor.buyer())
    order_in("shipped", shop)
    pending = place(shop)
    # Buyers' requests for /requests/: an open item change and an open address change.
    tee = pending.lines.order_by("id").first()
    request_modification(pending, changes=[{"line_id": tee.pk, "quantity": 3}], by=Actor.buyer())
    processed = order_in("processed", shop)
    request_address_change(
        processed,
        address={"name": "Ada", "line1": "3 Quay Lane", "city": "Bristol", "country": "GB"},
        by=Actor.buyer(),
    )
    CouponFactory(shop=shop, code="FUZZ10")
    raw_key = client_for(shop).raw_key
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{live_server.url}/api/schema/",
        "--header",
        f"Authorization: Bearer {raw_key}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        "25",
        "--seed",
        "20261125",
        "--workers",
        "4",
        "--request-timeout",
        "30",
        "--no-shrink",
    ]
    # cwd: Schemathesis keeps a cache directory where it runs; keep it out of the repository.
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", output)
    assert generated, output[-3000:]
    assert int(generated.group(1)) >= MIN_REQUESTS, output[-3000:]
    tested = re.search(r"Tested: (\d+)", output)
    assert tested and int(tested.group(1)) == len(openapi_schema_operations()), output[-3000:]
    assert re.search(r"✅ Stateful", output), output[-3000:]


def openapi_schema_operations() -> list[tuple[str, str]]:
    from .conftest import openapi_schema

    return [(method, path) for path, operations in openapi_schema()["paths"].items() for method in operations]
