"""The access matrix, written out once: for every combination of a model's metadata access, its file access
and a snapshot's override, which of the five roles see the model and which may read its file bytes.

Every surface is held to this one table: the rules themselves (tests/catalogue/test_permissions.py), the web
pages, the REST API, file downloads, bags and the Hub-compatible API (tests/test_access_matrix.py,
tests/archive/test_downloads.py, tests/catalogue/web/test_pages.py, tests/catalogue/test_api.py).

The table is deliberately literal (not computed from catalogue.permissions): it is what the issue asks for.
- Metadata: public models are seen by everyone; restricted ones by curators and researchers with a current grant.
- File bytes, at the snapshot's level when it sets one, else the model's: public for whoever sees the model;
  gated for curators and researchers with a current grant; restricted for curators.
"""

from dataclasses import dataclass

ROLES = ["anonymous", "researcher", "granted", "expired", "curator"]

EVERYONE = frozenset(ROLES)
GRANTED = frozenset({"granted", "curator"})  # a current, approved grant for this model, or a curator
CURATORS = frozenset({"curator"})


@dataclass(frozen=True)
class Case:
    metadata: str  # the model's metadata_access
    files: str  # the model's file_access
    snapshot: str  # the snapshot's file_access override ("" = none, the model's level applies)
    sees: frozenset  # roles that see the model: pages, API detail and lists, snapshots, manifests
    reads: frozenset  # roles that may read the file bytes: download links, downloads, bags, /hf resolve

    @property
    def id(self) -> str:
        override = f"-snapshot_{self.snapshot}" if self.snapshot else ""
        return f"meta_{self.metadata}-files_{self.files}{override}"

    @property
    def name(self) -> str:
        """A model name for this case (unique, URL-safe)."""
        override = f"-s{self.snapshot[:3]}" if self.snapshot else ""
        return f"m{self.metadata[:3]}-f{self.files[:3]}{override}"

    @property
    def level(self) -> str:
        """The file access that applies to the snapshot."""
        return self.snapshot or self.files

    # What each surface answers, derived only from the two sets above.
    def sees_model(self, role: str) -> bool:
        return role in self.sees

    def reads_files(self, role: str) -> bool:
        return role in self.reads

    def page_status(self, role: str) -> int:
        return 200 if role in self.sees else 404

    def file_status(self, role: str) -> int:
        """File bytes: 200 (or 302 to a presigned URL on S3); 403 when the model is seen but its files are not
        readable; 404 when the model itself is hidden (a hidden model answers like a missing one)."""
        if role in self.reads:
            return 200
        return 403 if role in self.sees else 404


CASES = [
    # The model's own levels: metadata x file access.
    Case("public", "public", "", sees=EVERYONE, reads=EVERYONE),
    Case("public", "gated", "", sees=EVERYONE, reads=GRANTED),
    Case("public", "restricted", "", sees=EVERYONE, reads=CURATORS),
    Case("restricted", "public", "", sees=GRANTED, reads=GRANTED),
    Case("restricted", "gated", "", sees=GRANTED, reads=GRANTED),
    Case("restricted", "restricted", "", sees=GRANTED, reads=CURATORS),
    # A snapshot's file access overrides the model's, in either direction; metadata still hides the model.
    Case("public", "public", "gated", sees=EVERYONE, reads=GRANTED),
    Case("public", "public", "restricted", sees=EVERYONE, reads=CURATORS),
    Case("public", "gated", "restricted", sees=EVERYONE, reads=CURATORS),
    Case("public", "restricted", "public", sees=EVERYONE, reads=EVERYONE),
    Case("restricted", "gated", "restricted", sees=GRANTED, reads=CURATORS),
    Case("restricted", "restricted", "public", sees=GRANTED, reads=GRANTED),
]


def case(metadata: str = "public", files: str = "public", snapshot: str = "") -> Case:
    """The row of the table for these levels."""
    for row in CASES:
        if (row.metadata, row.files, row.snapshot) == (metadata, files, snapshot):
            return row
    raise KeyError((metadata, files, snapshot))


def role_cases() -> list:
    """(case, role) pairs for pytest.mark.parametrize, with readable ids."""
    import pytest

    return [pytest.param(row, role, id=f"{row.id}-{role}") for row in CASES for role in ROLES]
