"""/api/v1/imports/: upload → check → apply, the refusals in the one error shape, and the schema (every
response goes through ``CheckedClient``, which validates it against the published OpenAPI schema)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from orders.imports import samples
from orders.models import ImportState, Notification, Order, OrderImport
from tests.api.conftest import CheckedClient, client_for

from .test_applying import tiktok_row, write_tiktok

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def api(shop):
    return client_for(shop)


def upload(path, name=None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type="text/csv")


def post_file(api, content_or_path, *, name="All order.csv", capture=None, **data):
    file = (
        SimpleUploadedFile(name, content_or_path, content_type="text/csv")
        if isinstance(content_or_path, bytes)
        else upload(content_or_path, name)
    )
    if capture is None:
        return api.post("/api/v1/imports/", {"file": file, **data}, format="multipart")
    with capture(execute=True):
        return api.post("/api/v1/imports/", {"file": file, **data}, format="multipart")


def test_upload_check_and_apply(api, shop, tmp_path, django_capture_on_commit_callbacks):
    summary = samples.write_tiktok_csv(tmp_path / "All order.csv", orders=25, seed=6)

    response = post_file(api, tmp_path / "All order.csv", capture=django_capture_on_commit_callbacks)

    assert response.status_code == 202
    body = response.json()
    import_id = body["id"]
    detail = api.get(f"/api/v1/imports/{import_id}/").json()
    assert detail["state"] == "previewed" and detail["import_format"] == "tiktok"
    assert detail["orders"] == {"new": summary.orders, "updated": 0, "unchanged": 0, "rejected": 0}
    assert detail["rows_done"] == detail["rows_total"] == summary.rows and detail["percent_done"] == 100
    assert not Order.objects.exists()
    items = api.get(f"/api/v1/imports/{import_id}/items/?limit=10").json()
    assert len(items["results"]) == 10 and items["next_cursor"]
    rest = api.get(f"/api/v1/imports/{import_id}/items/?limit=500&cursor={items['next_cursor']}").json()
    assert len(rest["results"]) == summary.orders - 10 and rest["next_cursor"] is None
    assert items["results"][0]["outcome"] == "new" and items["results"][0]["order"] is None

    with django_capture_on_commit_callbacks(execute=True):
        applied = api.post(f"/api/v1/imports/{import_id}/apply/")

    assert applied.status_code == 202
    done = api.get(f"/api/v1/imports/{import_id}/").json()
    assert done["state"] == "done" and done["orders"]["new"] == summary.orders and done["finished_at"]
    assert Order.objects.for_shop(shop).count() == summary.orders
    first = api.get(f"/api/v1/imports/{import_id}/items/?limit=1").json()["results"][0]
    assert first["applied"] and first["order"].startswith(shop.order_prefix)
    assert not Notification.objects.exists()
    listing = api.get("/api/v1/imports/").json()
    assert [row["id"] for row in listing["results"]] == [import_id]

    again = api.post(f"/api/v1/imports/{import_id}/apply/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "import_not_previewed"


def test_rejected_items_are_listed_with_row_and_column(api, tmp_path, django_capture_on_commit_callbacks):
    path = write_tiktok(tmp_path / "All order.csv", [tiktok_row("1"), {**tiktok_row("2"), "Quantity": "x"}])
    import_id = post_file(api, path, capture=django_capture_on_commit_callbacks).json()["id"]

    rejected = api.get(f"/api/v1/imports/{import_id}/items/?outcome=rejected").json()["results"]

    assert [item["external_id"] for item in rejected] == ["2"]
    problem = rejected[0]["problems"][0]
    assert (problem["level"], problem["row"], problem["column"]) == ("error", 3, "Quantity")
    bad = api.get(f"/api/v1/imports/{import_id}/items/?outcome=maybe")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"


def test_apply_is_refused_while_a_status_text_is_unknown(api, tmp_path, django_capture_on_commit_callbacks):
    path = write_tiktok(tmp_path / "All order.csv", [tiktok_row("1"), tiktok_row("2", "Enviado", "")])
    import_id = post_file(api, path, capture=django_capture_on_commit_callbacks).json()["id"]
    assert api.get(f"/api/v1/imports/{import_id}/").json()["unknown_status_texts"] == ["Enviado"]

    response = api.post(f"/api/v1/imports/{import_id}/apply/")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "unknown_status_texts" and error["details"]["status_texts"] == ["Enviado"]
    assert OrderImport.objects.get().state == ImportState.PREVIEWED
    assert not Order.objects.exists()


def test_apply_is_refused_until_the_check_is_done(api, tmp_path):
    path = write_tiktok(tmp_path / "All order.csv", [tiktok_row("1")])
    body = post_file(api, path).json()  # the check is queued after the commit, which never comes here
    assert body["state"] == "previewing"

    response = api.post(f"/api/v1/imports/{body['id']}/apply/")

    assert response.status_code == 409 and response.json()["error"]["code"] == "import_not_previewed"


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"", "empty.csv"),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "photo.png"),
        (b"Colour,Size\nred,M\n", "stock.csv"),
    ],
)
def test_a_wrong_file_is_a_400_with_a_message(api, content, name):
    response = post_file(api, content, name=name)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["details"]["fields"]["file"][0]
    assert not OrderImport.objects.exists()


def test_a_file_of_the_other_platform_is_a_400(api, tmp_path):
    path = write_tiktok(tmp_path / "All order.csv", [tiktok_row("1")])
    response = post_file(api, path, format="shopify")
    assert response.status_code == 400
    assert "TikTok" in response.json()["error"]["details"]["fields"]["file"][0]


def test_a_file_too_large_is_a_413_in_the_error_shape(api, tmp_path, settings):
    settings.SHIPSHAPE = {**settings.SHIPSHAPE, "IMPORT_MAX_UPLOAD_BYTES": 200}
    samples.write_tiktok_csv(tmp_path / "All order.csv", orders=3)

    response = post_file(api, tmp_path / "All order.csv")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert response.json()["error"]["details"]["max_bytes"] == 200
    assert not OrderImport.objects.exists()


def test_no_key_is_a_401(tmp_path):
    path = write_tiktok(tmp_path / "All order.csv", [tiktok_row("1")])
    response = post_file(CheckedClient(), path)
    assert response.status_code == 401
    assert CheckedClient().get("/api/v1/imports/").status_code == 401


def test_another_shops_import_is_a_404(shop, other_shop, tmp_path, django_capture_on_commit_callbacks):
    path = write_tiktok(tmp_path / "All order.csv", [tiktok_row("1")])
    import_id = post_file(client_for(shop), path, capture=django_capture_on_commit_callbacks).json()["id"]
    other = client_for(other_shop)

    for method, url in (
        ("get", f"/api/v1/imports/{import_id}/"),
        ("get", f"/api/v1/imports/{import_id}/items/"),
        ("post", f"/api/v1/imports/{import_id}/apply/"),
    ):
        response = getattr(other, method)(url)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert other.get("/api/v1/imports/").json()["results"] == []
    assert OrderImport.objects.get().state == ImportState.PREVIEWED
