"""A retired, licensed, signed model with a real (tiny) checkpoint, for the description tests."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from archive.descriptions import signing
from catalogue.models import Retirement
from tests.archive.synthetic_model import build_and_preserve, synthetic_files
from tests.factories import AIModelFactory


@pytest.fixture
def described(transactional_db, settings, staging_dir, monkeypatch):
    signing.key_generate(Path(settings.CODA_SIGNING_KEY_FILE))
    model = AIModelFactory(
        name="tiny-described", display_name="Tiny Described", file_access="public", license="apache-2.0",
        deprecated_on=date(2025, 1, 10), retires_on=timezone.localdate() - timedelta(days=1),
        description="A tiny GPT-2 shaped model.",
    )
    Retirement.objects.create(
        model=model, reason_category="superseded", reason="Replaced by a larger model.",
        access_after_retirement="researchers_only", access_note="Ask the curators.", preserved_for_lifetime=True,
    )
    files = synthetic_files(big=5000) | {"odd name ü.txt": b"space and umlaut\n"}
    snapshot, files = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch, files=files)
    return model, snapshot, files
