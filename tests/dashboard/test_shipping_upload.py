"""Bulk shipping by CSV: the file is read, every row checked in a preview, and the valid rows shipped."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dashboard.shipping_csv import MAX_ROWS, check_rows, read_shipping_file
from orders.services import Actor, process_order
from orders.states import OrderStatus
from tests.factories import order_in, tracking_number

pytestmark = pytest.mark.django_db


def csv_file(text: str, name: str = "ship.csv", encoding: str = "utf-8") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


def upload(client, text: str, **kwargs):
    return client.post(reverse("dashboard:shipping_upload"), {"file": csv_file(text, **kwargs)})


def fresh(order):
    order.refresh_from_db()
    return order


def test_upload_preview_and_apply_with_a_bad_row(staff_client, shop):
    good = order_in(OrderStatus.PROCESSED, shop=shop)
    also_good = order_in(OrderStatus.PROCESSED, shop=shop)
    pending = order_in(OrderStatus.PENDING, shop=shop)
    good_number, other_number = tracking_number(), tracking_number()
    text = (
        "Order Number,Carrier,Tracking Number\n"
        f"{good.number},ups,{good_number}\n"
        f"{also_good.number.lower()},UPS,{other_number}\n"
        f"{pending.number},ups,{tracking_number()}\n"
        f"NOPE-1,ups,{tracking_number()}\n"
    )
    response = upload(staff_client, text)
    assert response.status_code == 302
    preview_url = response["Location"]
    response = staff_client.get(preview_url)
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [row.valid for row in rows] == [True, True, False, False]
    assert (
        rows[2].error
        == f"Order {pending.number} cannot ship: only processed orders can ship (status: Pending)."
    )
    assert rows[3].error == "No order NOPE-1 in this shop."
    html = response.content.decode()
    assert "Ship 2 orders" in html and "No order NOPE-1 in this shop." in html
    assert fresh(good).status == OrderStatus.PROCESSED  # the preview ships nothing

    # Meanwhile the pending order is processed: the rows are checked again when applied.
    process_order(pending, by=Actor.system())
    apply_url = reverse("dashboard:shipping_upload_apply", args=[preview_url.rstrip("/").rsplit("/", 1)[-1]])
    response = staff_client.post(apply_url)
    assert response.status_code == 200
    assert [row.order_number for row in response.context["shipped"]] == [
        good.number,
        also_good.number.lower(),
        pending.number,
    ]
    assert [row.line for row in response.context["refused"]] == [5]
    assert fresh(good).status == OrderStatus.SHIPPED
    assert good.shipments.get().tracking_number == good_number
    assert good.events.filter(kind="shipped", actor__email="staff@example.com").exists()
    assert fresh(also_good).status == OrderStatus.SHIPPED and fresh(pending).status == OrderStatus.SHIPPED

    # Applying twice ships nothing more.
    response = staff_client.post(apply_url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("dashboard:shipping_upload")
    assert good.shipments.count() == 1


def test_every_reason_a_row_is_refused(owner_client, shop):
    processed = [order_in(OrderStatus.PROCESSED, shop=shop) for _ in range(4)]
    shipped = order_in(OrderStatus.SHIPPED, shop=shop)
    used = shipped.shipments.get().tracking_number
    repeated = tracking_number()
    text = (
        "tracking number;carrier;order number\n"
        f"{tracking_number()};Pigeon Post;{processed[0].number}\n"
        f"12345;ups;{processed[0].number}\n"
        f"{repeated};ups;{processed[1].number}\n"
        f"{repeated};ups;{processed[2].number}\n"
        f"{used};ups;{processed[3].number}\n"
        f"{tracking_number()};ups;{shipped.number}\n"
        f"{tracking_number()};ups\n"
        f";ups;{processed[3].number}\n"
    )
    rows = check_rows(shop, read_shipping_file(text.encode()))
    assert [(row.line, row.error) for row in rows] == [
        (2, "Unknown carrier “Pigeon Post”."),
        (3, "12345 is not a UPS tracking number."),
        (4, ""),
        (5, "This tracking number is already on an earlier row of the file."),
        (6, f"Tracking number {used} is already used for another parcel."),
        (7, f"Order {shipped.number} cannot ship: only processed orders can ship (status: Shipped)."),
        (8, "This row has too few columns."),
        (9, "Fill in the order number, the carrier and the tracking number."),
    ]


def test_the_same_order_twice_in_a_file(owner_client, shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    row = f"{order.number},ups,{{}}\n"
    text = "order,carrier,tracking\n" + row.format(tracking_number()) + row.format(tracking_number())
    rows = check_rows(shop, read_shipping_file(text.encode()))
    assert rows[0].valid
    assert rows[1].error == f"Order {order.number} is already on an earlier row of the file."


def test_another_shops_orders_are_unknown(owner_client, shop, other_shop):
    theirs = order_in(OrderStatus.PROCESSED, shop=other_shop)
    upload_response = upload(
        owner_client, f"order number,carrier,tracking number\n{theirs.number},ups,{tracking_number()}\n"
    )
    rows = owner_client.get(upload_response["Location"]).context["rows"]
    assert rows[0].error == f"No order {theirs.number} in this shop."


def test_the_upload_token_belongs_to_its_user_and_shop(owner_client, other_client, shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    location = upload(
        owner_client, f"order number,carrier,tracking number\n{order.number},ups,{tracking_number()}\n"
    )["Location"]
    token = location.rstrip("/").rsplit("/", 1)[-1]
    response = other_client.post(reverse("dashboard:shipping_upload_apply", args=[token]), follow=True)
    assert "expired or was already applied" in response.content.decode()
    assert fresh(order).status == OrderStatus.PROCESSED
    assert owner_client.get(location).status_code == 200  # still there for its owner


def test_bom_and_semicolons_are_tolerated(owner_client, shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    text = f"\ufeffORDER NUMBER;Carrier;Tracking Number\r\n{order.number};UPS;{tracking_number()}\r\n"
    rows = check_rows(shop, read_shipping_file(text.encode("utf-8")))
    assert rows[0].valid and rows[0].carrier_code == "ups"


def test_formula_like_and_html_content_is_shown_as_text(owner_client, shop):
    text = 'order number,carrier,tracking number\n=HYPERLINK("http://evil.example"),<b>ups</b>,"<script>alert(1)</script>"\n'
    response = owner_client.get(upload(owner_client, text)["Location"])
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html and "<b>ups</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "=HYPERLINK(&quot;http://evil.example&quot;)" in html
    assert "No order =HYPERLINK(&quot;http://evil.example&quot;) in this shop." in html


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "The submitted file is empty."),
        (" \n\n", "The file is empty."),
        (
            "order,carrier\n1,ups\n",
            "the columns “order number”, “carrier” and “tracking number”; “tracking number” is missing",
        ),
        ("order number,carrier,tracking number\n", "The file has a header but no rows."),
    ],
)
def test_unreadable_files_are_refused_beside_the_field(owner_client, shop, content, message):
    response = upload(owner_client, content)
    assert response.status_code == 422
    assert message in " ".join(response.context["form"].errors["file"])


def test_not_utf8_is_refused(owner_client, shop):
    response = owner_client.post(
        reverse("dashboard:shipping_upload"),
        {
            "file": SimpleUploadedFile(
                "ship.csv", "order number,carrier,tracking number\nÄ,ups,1\n".encode("utf-16")
            )
        },
    )
    assert response.status_code == 422
    assert "not UTF-8" in response.context["form"].errors["file"][0]


def test_size_limits(owner_client, shop):
    too_many = "order number,carrier,tracking number\n" + "X-1,ups,1\n" * (MAX_ROWS + 1)
    response = upload(owner_client, too_many)
    assert response.status_code == 422
    assert response.context["form"].errors["file"] == [
        "The file has more than 5,000 rows; split it into smaller files."
    ]
    too_big = "order number,carrier,tracking number\n" + ("X-1,ups," + "1" * 60 + "\n") * 16_000
    response = upload(owner_client, too_big)
    assert response.context["form"].errors["file"] == [
        "The file is larger than 1 MB; split it into smaller files."
    ]


def test_preview_query_count_does_not_grow_with_rows(owner_client, shop, django_assert_max_num_queries):
    orders = [order_in(OrderStatus.PROCESSED, shop=shop) for _ in range(6)]
    text = "order number,carrier,tracking number\n" + "".join(
        f"{o.number},ups,{tracking_number()}\n" for o in orders
    )
    location = upload(owner_client, text)["Location"]
    with django_assert_max_num_queries(8):
        response = owner_client.get(location)
    assert response.context["valid"] == 6


def test_upload_page_renders(staff_client, shop):
    response = staff_client.get(reverse("dashboard:shipping_upload"))
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in response.content.decode()
