"""Carrier detection: every test number tracking_number_data publishes for the formats we ship, the numbers
several carriers share, the detect endpoint, and the ship form and service agreeing with it."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from orders.errors import InvalidInput
from orders.services.fulfilment import resolve_carrier
from orders.states import OrderStatus
from shipping.carriers import (
    DEFAULT_CARRIERS,
    candidate_carriers,
    detect,
    format_carrier,
    normalise_tracking_number,
)
from shipping.models import Carrier
from shipping.tracking_formats import all_formats, local_exceptions
from tests.api.conftest import CheckedClient, client_for
from tests.api.test_auth_and_errors import assert_error
from tests.factories import MembershipFactory, order_in

pytestmark = pytest.mark.django_db

DETECT = "/api/v1/carriers/detect/"


def _examples(kind: str) -> list:
    return [
        pytest.param(tracking_format, example, id=f"{tracking_format.name}:{example.strip()}")
        for tracking_format in all_formats()
        for example in getattr(tracking_format, f"{kind}_examples")
    ]


def _expected_carrier(tracking_format, number: str) -> str:
    return format_carrier(tracking_format, tracking_format.shape(normalise_tracking_number(number)) or {})


def _codes(detection) -> list[str]:
    return [info.code for info in detection.candidates]


def test_every_format_of_the_data_has_examples_and_belongs_to_a_built_in_carrier():
    built_in = {carrier["code"] for carrier in DEFAULT_CARRIERS}
    couriers = {tracking_format.courier for tracking_format in all_formats()}
    assert couriers == {
        "amazon", "canada_post", "dhl", "dpd", "fedex", "landmark", "lasership",
        "ontrac", "purolator", "s10", "ups", "usps", "yodel", "yunexpress",
    }  # fmt: skip
    for tracking_format in all_formats():
        assert tracking_format.valid_examples and tracking_format.invalid_examples, tracking_format.name
        example = tracking_format.valid_examples[0]
        assert _expected_carrier(tracking_format, example) in built_in


@pytest.mark.parametrize(("tracking_format", "number"), _examples("valid"))
def test_a_valid_test_number_is_detected_for_its_carrier(tracking_format, number):
    expected = _expected_carrier(tracking_format, number)
    detection = detect(number)
    assert detection.valid
    assert expected in _codes(detection)
    if len(detection.candidates) == 1:
        assert detection.carrier == expected
    else:
        assert detection.carrier is None


@pytest.mark.parametrize(("tracking_format", "number"), _examples("invalid"))
def test_an_invalid_test_number_is_not_valid_for_its_carrier(tracking_format, number):
    normalised = normalise_tracking_number(number)
    assert tracking_format.groups(normalised) is None
    expected = _expected_carrier(tracking_format, number)
    # Upstream's invalid examples are invalid for their format; the carrier may still own the number
    # through another of its formats (or a local one, see local_formats.json), which must then accept it.
    other_formats = [
        f
        for f in all_formats()
        if f is not tracking_format
        and (groups := f.groups(normalised)) is not None
        and format_carrier(f, groups) == expected
    ]
    assert (expected in _codes(detect(number))) == bool(other_formats)


def test_invalid_test_numbers_owned_by_another_format_of_the_carrier_are_few_and_named():
    # Pinned so a data update that changes them is noticed: each is invalid for its own format only.
    owned = []
    for tracking_format in all_formats():
        for number in tracking_format.invalid_examples:
            normalised = normalise_tracking_number(number)
            expected = _expected_carrier(tracking_format, number)
            if expected in _codes(detect(number)) and normalised not in local_exceptions():
                owned.append((tracking_format.name, normalised))
    # Upstream lists it as a valid "Purolator (12)" number too.
    assert owned == [("Purolator (alpha + 9)", "331426749957")]


def test_a_wrong_check_digit_is_no_carriers_number():
    detection = detect("1Z5R89390357567128")  # 1Z5R89390357567127 with its last digit changed
    assert detection == detect("1z5r8939 0357-567128")
    assert (detection.number, detection.valid, detection.carrier, detection.candidates) == (
        "1Z5R89390357567128",
        False,
        None,
        (),
    )


def test_numbers_several_carriers_issue_list_them_all_and_name_none():
    twelve_digits = detect("578827955787")  # FedEx Express's and Purolator's check digits both pass
    assert twelve_digits.valid and twelve_digits.carrier is None
    assert _codes(twelve_digits) == ["fedex", "purolator"]
    impb = detect("9261292700768711948021")  # AI 92: a USPS number and a FedEx SmartPost one
    assert impb.carrier is None and _codes(impb) == ["fedex", "usps"]  # candidates in name order


def test_a_ten_digit_number_is_ambiguous_once_another_carrier_uses_ten_digits():
    assert detect("3318810025").carrier == "dhl-express"  # DHL's mod 7 passes and nothing else fits
    Carrier.objects.create(code="aramex", name="Aramex", tracking_number_pattern=r"\d{10,11}")
    detection = detect("3318810025")
    assert detection.carrier is None
    assert sorted(_codes(detection)) == ["aramex", "dhl-express"]
    assert detect("3318810010").carrier == "aramex"  # a wrong DHL check digit leaves the seller's carrier


def test_s10_numbers_go_to_the_post_of_their_country():
    assert detect("RB123456785GB").carrier == "royal-mail"
    assert detect("RB123456785CA").carrier == "canada-post"
    assert detect("RB123456785US").carrier == "usps"
    france = detect("RB123456785FR")
    assert france.carrier == "postal-service"
    assert france.candidates[0].name == "Postal service (France)"
    with translation.override("de"):
        assert "Frankreich" in detect("RB123456785FR").candidates[0].name
    assert not detect("RB123456785XX").valid  # no such post
    china = detect("UV123456785CN")  # China Post's S10, and Yanwen's own pattern
    assert china.carrier is None and _codes(china) == ["postal-service", "yanwen"]


def test_carriers_without_data_keep_their_own_patterns():
    assert detect("JT1234567890123").carrier == "jt-express"
    assert detect("4PX123456789012345CN").carrier == "4px"
    assert not detect("ANYTHING").valid
    Carrier.objects.create(code="broken", name="Broken", tracking_number_pattern="(unclosed")
    assert not detect("(UNCLOSED").valid  # an admin's broken pattern matches nothing


def test_an_inactive_carrier_is_never_a_candidate():
    Carrier.objects.filter(code="ups").update(is_active=False)
    assert not detect("1Z5R89390357567127").valid


@pytest.mark.parametrize(
    "number",
    ["1Z5R89390357567127", "578827955787", "9261292700768711948021", "RB123456785FR", "HELLO", "3318810010"],
)
def test_the_ship_service_agrees_with_detection(number):
    active = Carrier.objects.filter(is_active=True)
    detection = detect(number)
    assert [c.code for c in candidate_carriers(number, active)] == _codes(detection)
    if detection.carrier:
        assert resolve_carrier("", number).code == detection.carrier
    else:
        with pytest.raises(InvalidInput) as refusal:
            resolve_carrier("", number)
        expected = "carrier_ambiguous" if detection.valid else "carrier_not_detected"
        assert refusal.value.code == expected


# --- GET /api/v1/carriers/detect/ --------------------------------------------------------------------------


def test_the_endpoint_answers_the_documented_shape(shop):
    api = client_for(shop)  # every answer is checked against the published OpenAPI schema
    response = api.get(DETECT, {"number": "1z5r 8939-0357567127"})
    assert response.status_code == 200
    assert response.json() == {
        "number": "1Z5R89390357567127",
        "valid": True,
        "carrier": "ups",
        "candidates": [
            {
                "code": "ups",
                "name": "UPS",
                "tracking_url": "https://www.ups.com/track?tracknum=1Z5R89390357567127",
            }
        ],
    }
    ambiguous = api.get(DETECT, {"number": "578827955787"}).json()
    assert ambiguous["carrier"] is None
    assert [c["code"] for c in ambiguous["candidates"]] == ["fedex", "purolator"]
    assert api.get(DETECT, {"number": "1Z5R89390357567128"}).json() == {
        "number": "1Z5R89390357567128",
        "valid": False,
        "carrier": None,
        "candidates": [],
    }


def test_the_endpoint_takes_a_session_or_a_key_and_nothing_else(shop):
    seller = CheckedClient()
    seller.force_login(MembershipFactory(shop=shop).user)
    assert seller.get(DETECT, {"number": "3318810025"}).json()["carrier"] == "dhl-express"
    assert_error(CheckedClient().get(DETECT, {"number": "3318810025"}), 401, "not_authenticated")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "number"),
        ({"number": ""}, "number"),
        ({"number": "1" * 65}, "number"),
        ({"number": "1", "x": "1"}, "x"),
    ],
)
def test_a_missing_or_overlong_number_is_a_400_in_the_one_error_shape(shop, query, field):
    error = assert_error(client_for(shop).get(DETECT, query), 400, "invalid")
    assert field in error["details"]["fields"]


def test_the_endpoint_is_throttled_like_the_rest(shop, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "api_key": "2/minute",
        },
    }
    api = client_for(shop)
    for _ in range(2):
        assert api.get(DETECT, {"number": "3318810025"}).status_code == 200
    assert_error(api.get(DETECT, {"number": "3318810025"}), 429, "throttled")


def test_the_schema_documents_the_endpoint(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/carriers/detect/"]["get"]
    assert operation["operationId"] == "carriers_detect"
    assert {"200", "400", "401", "429"} <= set(operation["responses"])
    output = schema["components"]["schemas"]["DetectionOutput"]
    assert set(output["properties"]) == {"number", "valid", "carrier", "candidates"}
    candidate = schema["components"]["schemas"]["CarrierCandidateOutput"]
    assert set(candidate["properties"]) == {"code", "name", "tracking_url"}


# --- The ship dialog's server-side check ------------------------------------------------------------------


@pytest.fixture
def seller(shop):
    client = Client()
    client.force_login(MembershipFactory(shop=shop).user)
    return client


def ship(seller, order, **fields):
    data = {"version": order.version, "carrier": "", **fields}
    data.update({f"line_{line.pk}": line.quantity for line in order.lines.all()})
    return seller.post(reverse("dashboard:order_ship", kwargs={"number": order.number}), data)


def test_the_ship_form_detects_a_number_only_one_carrier_uses(seller, shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    assert ship(seller, order, tracking_number="RB 123 456 785 GB").status_code == 302
    assert order.shipments.get().carrier.code == "royal-mail"


def test_the_ship_form_lists_the_carriers_of_an_ambiguous_number(seller, shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    response = ship(seller, order, tracking_number="578827955787")
    assert response.status_code == 422
    assert response.context["ship_form"].errors["carrier"] == [
        "578827955787 could belong to FedEx, Purolator; choose the carrier."
    ]
    assert ship(seller, order, tracking_number="578827955787", carrier="purolator").status_code == 302
    assert order.shipments.get().carrier.code == "purolator"


def test_the_ship_form_refuses_a_wrong_check_digit_for_the_chosen_carrier(seller, shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    response = ship(seller, order, tracking_number="1Z5R89390357567128", carrier="ups")
    assert response.status_code == 422
    assert response.context["ship_form"].errors["tracking_number"] == [
        "1Z5R89390357567128 is not a UPS tracking number. Check it, or choose another carrier."
    ]
    response = ship(seller, order, tracking_number="1Z5R89390357567128")
    assert response.context["ship_form"].errors["tracking_number"] == [
        "No carrier uses tracking numbers like 1Z5R89390357567128; check it or choose the carrier."
    ]
    # A carrier detection knows nothing about takes any number.
    assert ship(seller, order, tracking_number="1Z5R89390357567128", carrier="other").status_code == 302


def test_the_ship_page_offers_every_active_carrier_and_the_detect_url(seller, shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    html = seller.get(reverse("dashboard:order_ship", kwargs={"number": order.number})).content.decode()
    assert 'data-detect-url="/api/v1/carriers/detect/"' in html
    for code in ("ups", "dhl-ecommerce", "yodel", "postal-service", "4px"):
        assert f'<option value="{code}"' in html
