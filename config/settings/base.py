"""Where Coda keeps its state and which mode it runs in (`CODA_ENV`): every other settings module builds on these."""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import env_str

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(env_str("CODA_VAR_DIR", str(BASE_DIR / "var"))).resolve()

CODA_ENV = env_str("CODA_ENV", "development").strip().lower()
if CODA_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"CODA_ENV must be 'development' or 'production', got {CODA_ENV!r}")
PRODUCTION = CODA_ENV == "production"
