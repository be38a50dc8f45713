"""Sealed holdings (issue 27): which snapshots' files are stored encrypted in the age format, the archive's age
identities (wrapped by a KMS key in production, a local file under var/ on the embedded default) and the
custodians' recipients every sealed object is also encrypted to. Read at start-up: a malformed recipient stops
the process here, not at the first ingest."""

from django.core.exceptions import ImproperlyConfigured

from archive.sealing.age import AgeError, Recipient
from config.env import env_bool, env_int, env_list, env_str
from config.settings.base import VAR_DIR

# restricted: files whose effective access is restricted; gated (the default): gated and restricted; all; none.
CODA_ENCRYPT_AT_REST = env_str("CODA_ENCRYPT_AT_REST", "gated")
if CODA_ENCRYPT_AT_REST not in ("restricted", "gated", "all", "none"):
    raise ImproperlyConfigured(
        f"CODA_ENCRYPT_AT_REST must be restricted, gated, all or none, not {CODA_ENCRYPT_AT_REST!r}.")

# Custodians' age recipients (age1…), comma-separated: every sealed object opens with any one of their
# identities, without Coda, its database or the KMS.
CODA_ESCROW_RECIPIENTS = env_list("CODA_ESCROW_RECIPIENTS", [])
for _recipient in CODA_ESCROW_RECIPIENTS:
    try:
        Recipient.parse(_recipient)
    except AgeError as _exc:
        raise ImproperlyConfigured(f"CODA_ESCROW_RECIPIENTS: {_recipient!r} is not an age X25519 recipient "
                                   f"(age1…): {_exc}") from None

# The KMS key that wraps the archive's age identities (AWS KMS or compatible; empty: a local identity file).
CODA_KMS_KEY_ID = env_str("CODA_KMS_KEY_ID", "")
CODA_KMS_ENDPOINT_URL = env_str("CODA_KMS_ENDPOINT_URL", "")
CODA_KMS_REGION = env_str("CODA_KMS_REGION", "us-east-1")
# Where local identities are kept when no KMS is configured (mode 0600; never inside a storage or staging root).
CODA_SEALING_KEY_DIR = env_str("CODA_SEALING_KEY_DIR", str(VAR_DIR / "keys"))

# Deep audits of sealed copies: decrypt and check the plaintext's SHA-256, each copy at least this often (the
# scheduled audit checks the ciphertext far more often, without a key).
CODA_DEEP_AUDIT_INTERVAL_DAYS = env_int("CODA_DEEP_AUDIT_INTERVAL_DAYS", 365)
CODA_DEEP_AUDIT_BATCH = env_int("CODA_DEEP_AUDIT_BATCH", 20)
# false: this process holds no decryption key and refuses to unwrap one (run the auditing worker so: its fixity
# audits and copies never need the key; deliveries and deep audits belong to workers that have it).
CODA_KEY_ACCESS = env_bool("CODA_KEY_ACCESS", True)
