"""What a snapshot's files add up to: parameters, dtypes, formats, architecture, and whether the
checkpoint is complete. A pure function of the per-file inspections, so the seal and the fixity
audit (which treats files without a verified copy as absent) reach the same verdict."""

import posixpath
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

SHARD_RE = re.compile(r"^(?P<prefix>.+)-(?P<no>\d{5})-of-(?P<count>\d{5})(?P<ext>\.[A-Za-z0-9]+)$")
MAX_NAMED_TENSORS = 50


@dataclass
class FileFacts:
    path: str
    format: str
    present: bool = True  # False when no verified copy exists (audit) or it was never stored
    inspection: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)


def _problem(code: str, path: str, message: str, **detail) -> dict:
    return {"code": code, "path": path, "message": message, **detail}


def _tensor_nbytes(entry: dict) -> int:
    begin, end = entry["data_offsets"]
    return end - begin


def _shard_groups(paths) -> dict[tuple, dict[int, str]]:
    """Files named <prefix>-00001-of-00003.<ext>, grouped by (directory/prefix, ext, count)."""
    groups: dict[tuple, dict[int, str]] = defaultdict(dict)
    for path in paths:
        match = SHARD_RE.match(posixpath.basename(path))
        if match:
            prefix = posixpath.join(posixpath.dirname(path), match["prefix"])
            groups[(prefix, match["ext"], int(match["count"]))][int(match["no"])] = path
    return groups


def _index_checks(index_file: FileFacts, files: dict[str, FileFacts], problems: list[dict]) -> list[str]:
    """Shards named in an index exist, hold their tensors, and add up to metadata.total_size.
    Returns the shard paths the index claims."""
    index = index_file.inspection["index"]
    base = posixpath.dirname(index_file.path)
    by_shard: dict[str, list[str]] = defaultdict(list)
    for tensor, shard in index["weight_map"].items():
        by_shard[shard].append(tensor)
    claimed, total, verifiable = [], 0, True
    for shard, tensors in sorted(by_shard.items()):
        path = posixpath.normpath(posixpath.join(base, shard))
        claimed.append(path)
        facts = files.get(path)
        if facts is None or not facts.present:
            why = "is not in the snapshot" if facts is None else "has no verified copy"
            problems.append(
                _problem("missing_shard", path, f"{shard}, named in {index_file.path} for {len(tensors)} tensor(s), {why}.")
            )
            verifiable = False
            continue
        if facts.format != "safetensors":
            verifiable = False  # pickled shards are never opened, so their tensors cannot be checked
            continue
        header = facts.inspection.get("tensors")
        if header is None:
            problems.append(_problem("unreadable_shard", path, f"{shard}'s header could not be read, so its tensors cannot be checked."))
            verifiable = False
            continue
        absent = [t for t in tensors if t not in header]
        if absent:
            named = ", ".join(absent[:MAX_NAMED_TENSORS]) + (f" and {len(absent) - MAX_NAMED_TENSORS} more" if len(absent) > MAX_NAMED_TENSORS else "")
            problems.append(
                _problem(
                    "tensor_missing_from_shard",
                    path,
                    f"{len(absent)} tensor(s) that {index_file.path} places in {shard} are not in its header: {named}.",
                    tensors=absent[:MAX_NAMED_TENSORS],
                )
            )
            verifiable = False
        total += sum(_tensor_nbytes(header[t]) for t in tensors if t in header)
    declared = index["metadata"].get("total_size")
    if declared is not None and verifiable:
        try:
            declared_int = int(declared)
        except (TypeError, ValueError):
            declared_int = None
        if declared_int != total:
            problems.append(
                _problem(
                    "total_size_mismatch",
                    index_file.path,
                    f"metadata.total_size is {declared}, but the tensors it maps take {total} bytes.",
                    declared=declared,
                    actual=total,
                )
            )
    return claimed


def _weight_set(fmt: str, members: list[FileFacts]) -> dict:
    by_dtype: Counter = Counter()
    tensors = 0
    for facts in members:
        by_dtype.update(facts.inspection.get("parameters_by_dtype") or {})
        tensors += facts.inspection.get("tensor_count") or 0
    entry = {
        "format": fmt,
        "files": [f.path for f in members],
        "parameter_count": sum(by_dtype.values()),
        "parameters_by_dtype": dict(sorted(by_dtype.items())),
        "tensor_count": tensors,
    }
    file_types = {f.inspection.get("file_type_name") for f in members if f.inspection.get("file_type_name")}
    if file_types:
        entry["file_type"] = ", ".join(sorted(file_types))
    return entry


def _weight_sets(files: dict[str, FileFacts], claimed_by_index: list[list[str]]) -> list[dict]:
    """Group weight files into whole checkpoints: an index's shards, a -NNNNN-of-NNNNN series, or one file."""
    readable = {p: f for p, f in files.items() if f.present and f.format in ("safetensors", "gguf") and "parameter_count" in f.inspection}
    sets, used = [], set()
    for claimed in claimed_by_index:
        members = [readable[p] for p in claimed if p in readable and p not in used]
        if members:
            used.update(f.path for f in members)
            sets.append(_weight_set(members[0].format, members))
    for (_, ext, _), numbered in sorted(_shard_groups(readable).items()):
        members = [readable[p] for _, p in sorted(numbered.items()) if p not in used]
        if members:
            used.update(f.path for f in members)
            sets.append(_weight_set(members[0].format, members))
    for path, facts in sorted(readable.items()):
        if path not in used:
            sets.append(_weight_set(facts.format, [facts]))
    return sets


def _headline(sets: list[dict]) -> dict | None:
    """Which weights the snapshot's parameter count describes.
    safetensors sets are summed (diffusers-style components), except exact duplicates (the same weights in
    two layouts); GGUF files are usually several quantisations of one model, so the largest is taken."""
    for entry in sets:
        entry["counted"] = False
    safetensors = [s for s in sets if s["format"] == "safetensors"]
    if safetensors:
        seen, by_dtype, tensors = [], Counter(), 0
        for entry in safetensors:
            entry["counted"] = entry["parameters_by_dtype"] not in seen
            if entry["counted"]:
                seen.append(entry["parameters_by_dtype"])
                by_dtype.update(entry["parameters_by_dtype"])
                tensors += entry["tensor_count"]
        return {"parameter_count": sum(by_dtype.values()), "parameters_by_dtype": dict(sorted(by_dtype.items())), "tensor_count": tensors}
    gguf = [s for s in sets if s["format"] == "gguf"]
    if gguf:
        best = max(gguf, key=lambda s: s["parameter_count"])
        best["counted"] = True
        return {k: best[k] for k in ("parameter_count", "parameters_by_dtype", "tensor_count")}
    return None


def evaluate(facts: list[FileFacts]) -> dict:
    """The snapshot-level inspection (see docs/architecture.md, 'Model-aware inspection')."""
    files = {f.path: f for f in facts}
    problems: list[dict] = []
    for f in sorted(facts, key=lambda f: f.path):
        problems.extend(f.problems)
    # Completeness: indexes first, then numbered series without an index, then any other lost file.
    claimed_by_index = []
    for f in sorted(facts, key=lambda f: f.path):
        if f.present and "index" in f.inspection:
            claimed_by_index.append(_index_checks(f, files, problems))
    reported = {p["path"] for p in problems if p["code"] == "missing_shard"}
    index_dirs = {posixpath.dirname(f.path) for f in facts if f.path.endswith(".safetensors.index.json")}
    for (prefix, ext, count), numbered in sorted(_shard_groups(files).items()):
        for no in range(1, count + 1):
            if no not in numbered:
                path = f"{prefix}-{no:05d}-of-{count:05d}{ext}"
                if path not in reported:
                    problems.append(_problem("missing_shard", path, f"Shard {no} of {count} ({posixpath.basename(path)}) is not in the snapshot."))
                    reported.add(path)
        if ext == ".safetensors" and count > 1 and posixpath.dirname(prefix) not in index_dirs:
            problems.append(
                _problem("missing_index", prefix + ext, f"{count} safetensors shards have no *.safetensors.index.json beside them.")
            )
    for f in sorted(facts, key=lambda f: f.path):
        if not f.present and f.path not in reported:
            problems.append(_problem("missing_file", f.path, f"{f.path} has no verified copy."))

    sets = _weight_sets(files, claimed_by_index)
    headline = _headline(sets) or {"parameter_count": None, "parameters_by_dtype": {}, "tensor_count": None}
    configs = sorted((f for f in facts if f.present and "config" in f.inspection), key=lambda f: (f.path.count("/"), f.path))
    config = configs[0].inspection["config"] if configs else {}
    tokenizers = sorted((f for f in facts if f.present and "tokenizer_config" in f.inspection), key=lambda f: (f.path.count("/"), f.path))
    gguf = next((f.inspection for f in sorted(facts, key=lambda f: f.path) if f.inspection.get("architecture")), {})
    architectures = config.get("architectures")
    return {
        "complete": not problems,
        "problems": problems,
        **headline,
        "dtypes": sorted(headline["parameters_by_dtype"]),
        "formats": dict(sorted(Counter(f.format for f in facts).items())),
        "architecture": (architectures[0] if isinstance(architectures, list) and architectures else architectures)
        or gguf.get("architecture"),
        "model_type": config.get("model_type") or gguf.get("architecture"),
        "context_length": config.get("max_position_embeddings") or gguf.get("context_length"),
        "config": config,
        "tokenizer": tokenizers[0].inspection["tokenizer_config"] if tokenizers else {},
        "weight_sets": sets,
    }
