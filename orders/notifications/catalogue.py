"""Every message a customer can receive: its subject and whether it is essential.

Essential messages (about the order itself) always go out; the others (feedback requests, delay notices) carry
an unsubscribe link and are not sent to an address that unsubscribed from the shop.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_noop


@dataclass(frozen=True)
class MessageKind:
    name: str
    subject: str  # translated in the buyer's language when the message is sent; %(number)s is the order
    essential: bool = True


CATALOGUE: dict[str, MessageKind] = {
    kind.name: kind
    for kind in (
        MessageKind("order_confirmed", gettext_noop("Your order %(number)s is confirmed")),
        MessageKind("order_processed", gettext_noop("Your order %(number)s is being prepared")),
        MessageKind("shipment_shipped", gettext_noop("Your order %(number)s is on its way")),
        MessageKind("out_for_delivery", gettext_noop("Your order %(number)s is out for delivery")),
        MessageKind("shipment_delivered", gettext_noop("A parcel of your order %(number)s was delivered")),
        MessageKind("order_delivered", gettext_noop("Your order %(number)s was delivered")),
        MessageKind("shipment_delayed", gettext_noop("Your order %(number)s is delayed"), essential=False),
        MessageKind("order_cancelled", gettext_noop("Your order %(number)s was cancelled")),
        MessageKind("order_returned", gettext_noop("Your order %(number)s was returned")),
        MessageKind("address_changed", gettext_noop("The shipping address of your order %(number)s changed")),
        MessageKind(
            "address_change_accepted",
            gettext_noop("Your new address for order %(number)s is accepted"),
        ),
        MessageKind(
            "address_change_refused",
            gettext_noop("Your address change for order %(number)s was not accepted"),
        ),
        MessageKind(
            "cancellation_refused",
            gettext_noop("Your order %(number)s could not be cancelled"),
        ),
        MessageKind("lines_changed", gettext_noop("The items of your order %(number)s changed")),
        MessageKind(
            "modification_approved",
            gettext_noop("Your item change for order %(number)s has been made"),
        ),
        MessageKind(
            "modification_declined",
            gettext_noop("Your item change for order %(number)s was not accepted"),
        ),
        MessageKind("return_approved", gettext_noop("Your return for order %(number)s is approved")),
        MessageKind("return_rejected", gettext_noop("Your return for order %(number)s was not accepted")),
        MessageKind("return_received", gettext_noop("We received your return for order %(number)s")),
        MessageKind("return_refunded", gettext_noop("Your refund for order %(number)s")),
        MessageKind("seller_message", gettext_noop("A message about your order %(number)s")),
        MessageKind("feedback_request", gettext_noop("How was your order %(number)s?"), essential=False),
        MessageKind(
            "apology_coupon",
            gettext_noop("Sorry about your order %(number)s: a coupon for you"),
            essential=False,
        ),
    )
}
