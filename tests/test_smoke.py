from orders.states import OrderStatus
from tests.factories import order_in, return_everything


def test_every_state_is_reachable_through_the_services(shop):
    for status in OrderStatus:
        if status == OrderStatus.RETURNED:
            continue
        assert order_in(status, shop=shop).status == status
    assert order_in(OrderStatus.RETURNED, shop=shop).status == OrderStatus.RETURNED
    assert return_everything(order_in(OrderStatus.DELIVERED, shop=shop)).status == OrderStatus.RETURNED
