"""Named refs of a model's snapshots: the branches `main` (the model's own files) and `dossier` (its
retirement record), and curator tags, which never move. Also each snapshot's place in its branch's history,
which the Hub API shows as commits."""

import re
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from archive import selectors
from archive.models import Snapshot, SnapshotTag
from core.exceptions import ConflictError, DomainError
from catalogue.models import AIModel

TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass
class Ref:
    name: str
    kind: str  # "branch" or "tag"
    snapshot: Snapshot
    message: str = ""

    @property
    def ref(self) -> str:
        return f"refs/{'heads' if self.kind == 'branch' else 'tags'}/{self.name}"


@dataclass
class ModelRefs:
    branches: list[Ref] = field(default_factory=list)
    tags: list[Ref] = field(default_factory=list)


def model_refs(model: AIModel) -> ModelRefs:
    """The branches that point somewhere (main first, then dossier) and every tag, by name."""
    refs = ModelRefs()
    for branch in selectors.BRANCHES:
        head = selectors.branch_head(model=model, branch=branch)
        if head is not None:
            refs.branches.append(Ref(name=branch, kind="branch", snapshot=head))
    refs.tags = [Ref(name=t.name, kind="tag", snapshot=t.snapshot, message=t.message) for t in selectors.snapshot_tags(model)]
    return refs


def snapshot_role(snapshot: Snapshot) -> str:
    """'model' (holds weights, config or tokenizer), 'dossier' (only dossier documents) or 'other'."""
    kinds = set(snapshot.files.values_list("kind", flat=True))
    if kinds & set(selectors.MODEL_FILE_KINDS):
        return "model"
    if kinds and kinds <= set(selectors.DOSSIER_FILE_KINDS):
        return "dossier"
    return "other"


def snapshot_history(snapshot: Snapshot) -> list[Snapshot]:
    """The snapshot and the sealed snapshots of the same role sealed before it, newest first: its branch's
    history as far as it goes (snapshots of another role belong to another branch). A revision is listed once:
    identical content preserved again (from another source) is one commit, shown as its newest snapshot, the one
    its revision id resolves to everywhere else (selectors.snapshot_get, branch heads); `snapshot` itself first."""
    queryset = selectors.snapshot_queryset().filter(model_id=snapshot.model_id, sealed_at__lte=snapshot.sealed_at)
    role = snapshot_role(snapshot)
    if role in ("model", "dossier"):
        queryset = selectors.sealed_with_role(queryset, "main" if role == "model" else "dossier")
    else:
        queryset = queryset.filter(pk=snapshot.pk)
    rows = list(queryset.select_related("created_by").prefetch_related("jobs__requested_by").order_by("-sealed_at", "-pk"))
    rows.sort(key=lambda row: row.pk != snapshot.pk)  # stable: itself first, the others newest first
    history, seen = [], set()
    for row in rows:
        if row.revision not in seen:
            seen.add(row.revision)
            history.append(row)
    return history


def snapshot_tag_check(*, snapshot: Snapshot, name: str) -> None:
    """Raise the DomainError creating this tag would: a bad name (code `invalid_tag`), a snapshot not sealed
    (`conflict`), a name this model already uses (`tag_exists`). Forms call it to show the error in place."""
    if not TAG_RE.match(name or "") or name in selectors.BRANCHES or name.isdigit() or selectors.REVISION_RE.match(name):
        raise DomainError(
            f"Invalid tag name {name!r}: letters, digits, '.', '_', '-' (up to 64), not a branch name, a number "
            "or a 40-hex revision.",
            code="invalid_tag",
        )
    if snapshot.state != Snapshot.State.SEALED:
        raise ConflictError(f"Snapshot {snapshot.pk} is not sealed; only sealed snapshots can be tagged.")
    if SnapshotTag.objects.filter(model_id=snapshot.model_id, name=name).exists():
        raise _tag_exists(snapshot, name)


def snapshot_tag_create(*, snapshot: Snapshot, name: str, created_by=None, message: str = "") -> SnapshotTag:
    """Tag a sealed snapshot; a name already used for this model is a conflict (tags never move)."""
    snapshot_tag_check(snapshot=snapshot, name=name)
    try:
        with transaction.atomic():
            return SnapshotTag.objects.create(
                model_id=snapshot.model_id, snapshot=snapshot, name=name, message=message, created_by=created_by
            )
    except IntegrityError:  # taken between the check and the insert
        raise _tag_exists(snapshot, name) from None


def _tag_exists(snapshot: Snapshot, name: str) -> ConflictError:
    return ConflictError(f"{snapshot.model.repo_id} already has a tag {name!r}; tags never move.", code="tag_exists")
