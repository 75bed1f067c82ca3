import pytest


@pytest.fixture(autouse=True)
def mail_in_memory(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from orders.notifications.email import close_connection

    close_connection()  # the kept-open connection belongs to the previous backend
    yield
    close_connection()
