import os

# CI sets CODA_REQUIRE_SERVICES=1: the real services must be configured, and no test may skip.
REQUIRE_SERVICES = os.environ.get("CODA_REQUIRE_SERVICES", "").strip().lower() in ("1", "true", "yes", "on")
