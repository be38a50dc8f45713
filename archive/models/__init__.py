"""Archive domain: where bytes live (locations, blobs, replicas), what a snapshot holds, how it got
there (ingest jobs) and the append-only PREMIS event trail.

One module per concern; every model is importable from `archive.models` as before."""

from archive.models.events import (  # noqa: F401
    AppendOnlyError,
    PreservationEvent,
)
from archive.models.log import (  # noqa: F401
    LogCheckpoint,
    LogHead,
    LogLeaf,
)
from archive.models.snapshots import (  # noqa: F401
    FileFormat,
    FileKind,
    SigningKey,
    Snapshot,
    SnapshotFile,
    SnapshotTag,
    TagImmutable,
)
from archive.models.storage import (  # noqa: F401
    Blob,
    Replica,
    StorageLocation,
)
from archive.models.work import (  # noqa: F401
    IngestJob,
    Lease,
)
from core.events import EventOutcome, EventType  # noqa: F401  (archive code names them through archive.models)
from archive.models.sealing import (  # noqa: F401
    SealingKey,
)
