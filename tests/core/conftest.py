import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections


@pytest.fixture
def _keep_connection():
    """The WSGI handler closes the connection after each request; the test transaction must survive it
    (Django's own test client disconnects the same signal)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)
