from django.urls import path

from archive.api import bags, citations, descriptions, downloads, keys, refs, retention, views, withdrawals
from archive.api import log as log_views

SNAPSHOTS = "models/<str:provider>/<str:name>/snapshots/"

urlpatterns = [
    path(SNAPSHOTS, views.SnapshotListView.as_view(), name="snapshot-list"),
    path(SNAPSHOTS + "<str:revision>/", views.SnapshotDetailView.as_view(), name="snapshot-detail"),
    path(SNAPSHOTS + "<str:revision>/manifest", views.ManifestView.as_view(), name="snapshot-manifest"),
    path(SNAPSHOTS + "<str:revision>/manifest.sha256", views.ManifestSha256View.as_view(), name="snapshot-manifest-sha256"),
    path("models/<str:provider>/<str:name>/preservation/", views.PreservationView.as_view(), name="model-preservation"),
    path("models/<str:provider>/<str:name>/audit/", views.ModelAuditView.as_view(), name="model-audit"),
    path("models/<str:provider>/<str:name>/refs/", refs.ModelRefsView.as_view(), name="model-refs"),
    path("events/", views.EventListView.as_view(), name="event-list"),
    path(SNAPSHOTS + "<str:revision>/bag.tar", bags.BagView.as_view(), name="snapshot-bag"),
    path(SNAPSHOTS + "<str:revision>/files/<path:path>", downloads.SnapshotFileDownloadView.as_view(), name="snapshot-file"),
    path("ingest-jobs/<id:pk>/retry/", views.IngestJobRetryView.as_view(), name="ingest-job-retry"),
    path("ingest-jobs/<id:pk>/cancel/", views.IngestJobCancelView.as_view(), name="ingest-job-cancel"),
    path("ingest-jobs/<id:pk>/", views.IngestJobView.as_view(), name="ingest-job-detail"),
    path("signing-keys/", descriptions.SigningKeyListView.as_view(), name="signing-key-list"),
    path("encryption-keys/", keys.EncryptionKeyListView.as_view(), name="encryption-key-list"),
    path(SNAPSHOTS + "<str:revision>/model.sig", descriptions.SnapshotSignatureView.as_view(), name="snapshot-signature"),
    path(SNAPSHOTS + "<str:revision>/ro-crate-metadata.json", descriptions.SnapshotROCrateView.as_view(), name="snapshot-rocrate"),
    path(SNAPSHOTS + "<str:revision>/bom.cdx.json", descriptions.SnapshotBomView.as_view(), name="snapshot-bom"),
]
urlpatterns += [path(SNAPSHOTS + "<str:revision>/cite/<str:cite_format>", citations.SnapshotCitationView.as_view(), name="snapshot-cite")]
urlpatterns += [
    path("models/<str:provider>/<str:name>/withdraw/", withdrawals.ModelWithdrawView.as_view(), name="model-withdraw"),
    path(SNAPSHOTS + "<str:revision>/withdraw/", withdrawals.SnapshotWithdrawView.as_view(), name="snapshot-withdraw"),
]
# Legal holds (Object Lock, docs/retention.md): POST puts one, DELETE releases it; curators.
urlpatterns += [
    path(SNAPSHOTS + "<str:revision>/legal-hold/", retention.SnapshotLegalHoldView.as_view(), name="snapshot-legal-hold"),
]
urlpatterns += [  # the tamper-evident log (docs/log.md)
    path("log/checkpoint", log_views.LogCheckpointView.as_view(), name="log-checkpoint"),
    path("log/checkpoints/", log_views.LogCheckpointListView.as_view(), name="log-checkpoint-list"),
    path("log/proof/inclusion", log_views.InclusionProofView.as_view(), name="log-proof-inclusion"),
    path("log/proof/consistency", log_views.ConsistencyProofView.as_view(), name="log-proof-consistency"),
    path("log/leaves/", log_views.LogLeavesView.as_view(), name="log-leaves"),
]
