import pytest


@pytest.fixture(autouse=True)
def mail_in_memory(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from orders.notifications.email import close_connection

    close_connection()  # the kept-open connection belongs to the previous backend
    yield
    close_connection()


def deliveries_asked(callbacks) -> list:
    """The after-commit callbacks that publish outbox deliveries (others, such as the tracking page's stamp
    being forgotten, also run after a change commits)."""
    return [callback for callback in callbacks if callback.__module__ == "orders.notifications.outbox"]
