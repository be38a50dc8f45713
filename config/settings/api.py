"""The REST API: authentication, permissions, pagination, parsers, the error shape, tokens, the OpenAPI schema."""

from datetime import timedelta

from config.env import env_int

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.permissions.CuratorWriteOrReadOnly"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.CodaCursorPagination",
    "PAGE_SIZE": env_int("CODA_API_PAGE_SIZE", 50),
    "DEFAULT_SCHEMA_CLASS": "core.schema.CodaAutoSchema",  # documents the error answers too
    "EXCEPTION_HANDLER": "core.errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.DepthLimitedJSONParser",  # refuses JSON nested deeper than 32 levels
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Proxies in front of Coda whose X-Forwarded-For entries are trusted (0: the client is REMOTE_ADDR).
    "NUM_PROXIES": env_int("CODA_NUM_PROXIES", 0),
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
# API tokens expire after this many days unless created with an explicit lifetime or as never-expiring;
# 0 makes never-expiring the default (an explicit choice of the deployment).
CODA_TOKEN_TTL_DAYS = env_int("CODA_TOKEN_TTL_DAYS", 90)
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=CODA_TOKEN_TTL_DAYS) if CODA_TOKEN_TTL_DAYS > 0 else None,
    "TOKEN_PREFIX": "coda_",
    "AUTH_HEADER_PREFIX": "Bearer",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Coda API",
    "DESCRIPTION": "Preservation archive and catalogue for retired AI models.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the installed sidecar package: /api/docs/ works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The groups of /api/docs/ (core.schema.CodaAutoSchema.get_tags picks each operation's from API_TAG_RULES).
    "TAGS": [
        {"name": "catalogue", "description": "Providers, models, lifecycle and retirements."},
        {"name": "snapshots", "description": "A model's preserved snapshots: files, downloads, refs, "
                                            "descriptions, bags, preservation status, audits, withdrawals."},
        {"name": "archive", "description": "The archive at work: ingest jobs, preservation events, keys."},
        {"name": "access", "description": "Access requests, grants and scheduled access changes."},
        {"name": "approvals", "description": "Dangerous changes waiting for a second curator."},
        {"name": "log", "description": "The tamper-evident event log: checkpoints and proofs."},
        {"name": "dossier", "description": "The retirement record: interviews, requests and responses, "
                                          "reports, writings, commitments and feeds."},
    ],
    "ENUM_NAME_OVERRIDES": {
        "SnapshotStateEnum": "archive.models.Snapshot.State",
        "SnapshotFileStateEnum": "archive.models.SnapshotFile.State",
        "IngestJobStateEnum": "archive.models.IngestJob.State",
        "ReplicaStateEnum": "archive.models.Replica.State",
        "FileAccessEnum": "catalogue.models.FileAccess",
    },
}

# Several dossier fields are called "status"; name their enums in the OpenAPI schema explicitly.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "ResponseStatusEnum": "dossier.models.ResponseStatus",
        "WritingStatusEnum": "dossier.models.WritingStatus",
    }
)

# Path (after /api/v1/) -> tag, first match wins; an operation matching none is an error in the schema test.
_MODEL = r"models/[^/]+/[^/]+/"
API_TAG_RULES = [
    (_MODEL + r"(access-changes|access-grants|access-requests)", "access"),
    (r"access-requests", "access"),
    (_MODEL + r"(dossier|interviews|requests|reports|writing-series|writings|commitments)", "dossier"),
    (r"(commitments|retirement-feed)", "dossier"),
    (_MODEL + r"(snapshots|refs|preservation|audit|withdraw|legal-hold)", "snapshots"),
    (r"(ingest-jobs|events|encryption-keys|signing-keys|storage)", "archive"),
    (r"approvals", "approvals"),
    (r"log", "log"),
    (r"(models|providers|retirements|platforms)", "catalogue"),
]
