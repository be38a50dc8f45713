"""Doors that take a secret are throttled (core/throttling.py): every password sign-in (web, admin, the
browsable API's), bearer tokens (API and /hf) and token creation. A short window keeps the tests quick."""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import RequestFactory
from django.utils import timezone
from knox.models import AuthToken

from catalogue import accounts
from core import throttling
from tests.factories import CuratorFactory, UserFactory, _hashed, api_client

PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's
ROOT = Path(__file__).resolve().parents[2]
WINDOW = 1  # seconds


class _Clock:
    """The test cache's clock. Django's locmem cache reads time.time() for its timeouts: with the real clock, a
    window of WINDOW seconds could end in the middle of a test's few requests on a slow or shared machine (the
    counter expires and a request meant to be refused is let through), so the window passes when a test says."""

    now = 0.0

    def time(self) -> float:
        return self.now


CLOCK = _Clock()


@pytest.fixture
def limits(settings, monkeypatch):
    from django.core.cache.backends import base, locmem

    CLOCK.now = time.time()
    monkeypatch.setattr(base, "time", CLOCK)  # timeouts: now + timeout
    monkeypatch.setattr(locmem, "time", CLOCK)  # expiry: timeout <= now
    settings.CODA_AUTH_WINDOW_SECONDS = WINDOW
    settings.CODA_AUTH_FAILURES_PER_ADDRESS = 3
    settings.CODA_AUTH_FAILURES_PER_USER = 5
    settings.CODA_TOKEN_CREATE_LIMIT = 2
    # A cheap hasher, so a sign-in takes milliseconds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield settings
    _hashed.cache_clear()  # the factories' cached hashes made with MD5 must not reach other tests


def _user(username: str, factory=UserFactory):
    user = factory(username=username)
    user.set_password(PASSWORD)
    user.save()
    return user


def _window_passes():
    CLOCK.now += WINDOW + 0.3


SIGN_IN_DOORS = {
    "web": ("/accounts/login/", 302),
    "admin": ("/admin/login/", 302),
    "browsable-api": ("/api-auth/login/", 302),
}


@pytest.mark.parametrize("door", sorted(SIGN_IN_DOORS))
def test_sign_in_failures_answer_429_and_lock_out_a_correct_password(client, db, limits, door):
    path, success = SIGN_IN_DOORS[door]
    _user("rita", CuratorFactory)  # a curator may sign in at every door, the admin included
    statuses = [client.post(path, {"username": "rita", "password": f"wrong-{i}"}).status_code for i in range(4)]
    assert statuses == [200, 200, 429, 429]  # the third failure reaches the limit of 3

    refused = client.post(path, {"username": "rita", "password": PASSWORD})
    assert refused.status_code == 429 and int(refused["Retry-After"]) == WINDOW
    assert "_auth_user_id" not in client.session  # the correct password did not sign in

    _window_passes()
    signed_in = client.post(path, {"username": "rita", "password": PASSWORD})
    assert signed_in.status_code == success, signed_in.content[:500]
    assert client.session["_auth_user_id"]


def test_a_locked_address_is_locked_for_every_account(client, db, limits):
    _user("sam")
    for i in range(3):
        client.post("/accounts/login/", {"username": f"nobody{i}", "password": "x"})
    assert client.post("/accounts/login/", {"username": "sam", "password": PASSWORD}).status_code == 429


def test_failures_for_one_account_from_many_addresses_lock_that_account(client, db, limits):
    _user("sam")
    _user("tess")
    for i in range(5):  # CODA_AUTH_FAILURES_PER_USER, one failure per address
        client.post("/accounts/login/", {"username": "sam", "password": "x"}, REMOTE_ADDR=f"10.0.0.{i}")
    assert client.post("/accounts/login/", {"username": "Sam", "password": PASSWORD}, REMOTE_ADDR="10.0.1.1").status_code == 429
    # Another account from a fresh address is untouched.
    assert client.post("/accounts/login/", {"username": "tess", "password": PASSWORD}, REMOTE_ADDR="10.0.1.2").status_code == 302


def test_forwarded_for_is_ignored_unless_proxies_are_configured(client, db, limits):
    """A client cannot dodge the limit by inventing X-Forwarded-For addresses (CODA_NUM_PROXIES=0)."""
    statuses = [
        client.post("/accounts/login/", {"username": "x", "password": "y"}, HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code
        for i in range(4)
    ]
    assert statuses[-1] == 429


def test_any_authenticate_call_is_refused_once_locked(db, limits):
    """The rule lives in the authentication backends, so a door without the 429 wrapper is held too."""
    from django.contrib.auth import authenticate

    _user("sam")
    request = RequestFactory().post("/", REMOTE_ADDR="192.0.2.9")
    for _ in range(3):
        assert authenticate(request, username="sam", password="wrong") is None
    assert authenticate(request, username="sam", password=PASSWORD) is None
    assert authenticate(RequestFactory().post("/", REMOTE_ADDR="192.0.2.10"), username="sam", password=PASSWORD)


@pytest.mark.parametrize("path", ["/api/v1/providers/", "/hf/api/models/lab/none"])
def test_bearer_token_failures_answer_429_even_for_a_valid_token(db, limits, path):
    user = UserFactory(username="scripted")
    good = api_client(user)
    bad = api_client()
    bad.credentials(HTTP_AUTHORIZATION="Bearer coda_not-a-real-token")
    statuses = [bad.get(path).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert good.get(path).status_code == 429
    _window_passes()
    assert good.get(path).status_code in (200, 404)  # /hf answers 404 for a repository that does not exist


def test_bearer_429_is_the_api_error_shape(db, limits):
    bad = api_client()
    bad.credentials(HTTP_AUTHORIZATION="Bearer nope")
    for _ in range(3):
        bad.get("/api/v1/providers/")
    response = bad.get("/api/v1/providers/")
    assert response.status_code == 429 and response["Retry-After"] == str(WINDOW)
    assert response.json()["status"] == 429 and response.json()["code"] == "throttled"


def test_token_creation_is_rate_limited_per_user(client, db, limits):
    user = UserFactory(username="maker")
    client.force_login(user)
    statuses = [client.post("/account/tokens/", {}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert AuthToken.objects.filter(user=user).count() == 2
    other = UserFactory(username="other-maker")
    client.force_login(other)
    assert client.post("/account/tokens/", {}).status_code == 200
    _window_passes()
    client.force_login(user)
    assert client.post("/account/tokens/", {}).status_code == 200


# --- Token lifetime ------------------------------------------------------------------------------


def _days_left(token: AuthToken) -> float:
    return (token.expiry - timezone.now()) / timedelta(days=1)


def test_tokens_expire_after_the_configured_default(db, settings):
    settings.CODA_TOKEN_TTL_DAYS = 7
    user = UserFactory(username="ttl")
    default, _ = accounts.api_token_create(user=user)
    explicit, _ = accounts.api_token_create(user=user, expires_days=30)
    never, _ = accounts.api_token_create(user=user, never_expires=True)
    assert 6.99 < _days_left(default) <= 7
    assert 29.99 < _days_left(explicit) <= 30
    assert never.expiry is None


def test_a_ttl_of_zero_makes_never_expiring_the_explicit_default(db, settings):
    settings.CODA_TOKEN_TTL_DAYS = 0
    token, _ = accounts.api_token_create(user=UserFactory(username="forever"))
    assert token.expiry is None


def test_the_web_form_and_the_command_follow_the_default(client, db, settings, capsys):
    settings.CODA_TOKEN_TTL_DAYS = 7
    user = UserFactory(username="doors")
    client.force_login(user)
    assert client.post("/account/tokens/", {}).status_code == 200
    assert client.post("/account/tokens/", {"never_expires": "on"}).status_code == 200
    call_command("create_token", "doors")
    call_command("create_token", "doors", "--never-expires")
    expiries = [t.expiry for t in AuthToken.objects.filter(user=user).order_by("created")]
    assert [e is None for e in expiries] == [False, True, False, True]
    assert all(6.99 < _days_left(t) <= 7 for t in AuthToken.objects.filter(user=user, expiry__isnull=False))


def test_an_expired_token_is_refused(db):
    user = UserFactory(username="old")
    token, plain = accounts.api_token_create(user=user, expires_days=1)
    AuthToken.objects.filter(pk=token.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert client.get("/api/v1/providers/").status_code == 401


# --- Shared counters -------------------------------------------------------------------------------


def _cache_backends():
    yield "file"
    broker = os.environ.get("CELERY_BROKER_URL", "")
    yield pytest.param("redis", marks=pytest.mark.skipif(not broker.startswith("redis"), reason="no Redis configured"))


@pytest.mark.parametrize("backend", list(_cache_backends()))
def test_counters_are_shared_across_processes(settings, tmp_path, limits, backend):
    """Failures counted by another process (another gunicorn worker) lock this one out too: the file cache under
    var/ by default, Redis with CODA_CACHE_URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CODA_"))}
    if backend == "redis":
        env["CODA_CACHE_URL"] = os.environ["CELERY_BROKER_URL"]
    else:
        env["CODA_VAR_DIR"] = str(tmp_path)
    env.update(DJANGO_SETTINGS_MODULE="config.settings", CODA_AUTH_WINDOW_SECONDS="60")
    address = f"198.51.100.{uuid.uuid4().int % 250}-{uuid.uuid4().hex[:8]}"  # fresh keys on a shared Redis
    script = (
        "import django; django.setup()\n"
        "from core import throttling\n"
        f"for _ in range(3): throttling.hit('signin-address', {address!r})\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, timeout=60)


    if backend == "redis":
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                       "LOCATION": env["CODA_CACHE_URL"], "KEY_PREFIX": "coda"}}
    else:
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                                       "LOCATION": str(tmp_path / "cache")}}
    request = RequestFactory().post("/", REMOTE_ADDR=address)
    assert throttling.sign_in_locked(request, None)
    assert not throttling.sign_in_locked(RequestFactory().post("/", REMOTE_ADDR="192.0.2.250"), None)
