"""Request bodies as a storefront would send them."""


def order_payload(**overrides) -> dict:
    payload = {
        "customer": {"email": "Ada@Example.net", "name": "Ada Buyer", "phone": "+44 20 7946 0000"},
        "shipping_address": {
            "name": "Ada Buyer",
            "line1": "12 Harbour Street",
            "line2": "",
            "city": "Portsmouth",
            "region": "Hampshire",
            "postal_code": "PO1 3AX",
            "country": "gb",
        },
        "lines": [
            {
                "sku": "TEE-M-BLK",
                "name": "T-shirt",
                "variant": "M / black",
                "quantity": 2,
                "unit_price": "15.00",
            },
            {"sku": "CAP-RED", "name": "Cap", "variant": "", "quantity": 1, "unit_price": "9.50"},
        ],
        "shipping_price": "4.50",
        "payment_method": "card",
        "payment_status": "paid",
        "coupon_code": "",
    }
    payload.update(overrides)
    return payload
