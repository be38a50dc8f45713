"""Inspection writes: the snapshot-level inspection at seal time, and the model's parameter count."""

import logging

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from archive.inspection.checkpoint import FileFacts, evaluate
from archive.models import Snapshot
from catalogue.models import AIModel
from catalogue.services import model_update

logger = logging.getLogger(__name__)


def snapshot_inspect(*, snapshot: Snapshot) -> dict:
    """Compute and save what the snapshot's weights add up to and whether the checkpoint is complete;
    then fill the model's parameter count if the curator left it empty. Called once, when sealing."""
    facts = [
        FileFacts(path=path, format=fmt, present=state == "stored", inspection=inspection or {}, problems=problems or [])
        for path, fmt, state, inspection, problems in snapshot.files.values_list("path", "format", "state", "inspection", "problems")
    ]
    try:
        result = evaluate(facts)
    except Exception as exc:  # sealing preserved bytes must never fail on a bug in describing them
        logger.exception("inspection of snapshot %s failed", snapshot.pk)
        problem = {"code": "inspection_error", "path": "", "message": f"The snapshot could not be inspected: {exc}."}
        result = {"complete": False, "problems": [problem]}
    snapshot.inspection = {**result, "inspected_at": timezone.now().isoformat()}
    snapshot.save(update_fields=["inspection"])
    model_parameter_count_fill(snapshot=snapshot)
    return snapshot.inspection


def model_parameter_count_fill(*, snapshot: Snapshot) -> None:
    """Set Model.parameter_count from the newest sealed snapshot when it is empty, or when it still holds
    the count an earlier snapshot's inspection put there; a curator's own figure is never overwritten."""
    count = (snapshot.inspection or {}).get("parameter_count")
    if not count:
        return
    sealed = Snapshot.objects.filter(model_id=snapshot.model_id, state=Snapshot.State.SEALED)
    newest = sealed.order_by("-sealed_at", "-pk").values_list("pk", flat=True).first()
    if newest != snapshot.pk:
        return
    model = AIModel.objects.get(pk=snapshot.model_id)
    earlier = {s.get("parameter_count") for s in sealed.exclude(pk=snapshot.pk).values_list("inspection", flat=True) if s}
    if model.parameter_count is not None and model.parameter_count not in earlier:
        return
    if model.parameter_count == count:
        return
    try:
        with transaction.atomic():  # a savepoint: the seal around it goes on whatever happens here
            model_update(model=model, parameter_count=count)
    except (ValidationError, DatabaseError) as exc:  # the catalogue entry has some other problem; sealing must not fail on it
        logger.warning("could not set parameter_count of %s from snapshot %s: %s", model.repo_id, snapshot.pk, exc)
