"""Model-aware inspection: weight headers and configs read from the ingest stream (no second read of a
file), parameter counts and dtypes, and whether a sharded checkpoint is complete.

Entry points: `FileInspector` (a HashingReader observer), `snapshot_inspect` (at seal) and
`snapshot_completeness` (for the fixity audit)."""

from archive.inspection.files import FileInspector
from archive.inspection.selectors import snapshot_completeness
from archive.inspection.services import snapshot_inspect

__all__ = ["FileInspector", "snapshot_completeness", "snapshot_inspect"]
