"""Runs the official clients against HF_ENDPOINT in a separate process (huggingface_hub reads HF_ENDPOINT
at import time, and 0.36 lives in its own virtualenv). Standalone: imports only the clients.

Usage: python hf_client.py '<json list of operations>' → prints one JSON list of results on stdout."""

import hashlib
import json
import os
import sys
from pathlib import Path


def sha256_file(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_digests(root) -> dict:
    root = Path(root)
    files = {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}
    return {rel: sha256_file(p) for rel, p in files.items() if not rel.startswith(".cache/")}


def run(op: dict):
    import huggingface_hub as hub

    kind = op["op"]
    token = op.get("token")
    if kind == "version":
        return {"huggingface_hub": hub.__version__}
    if kind == "snapshot_download":
        path = hub.snapshot_download(op["repo"], revision=op.get("revision"), token=token, local_dir=op.get("local_dir"))
        return {"path": path, "files": tree_digests(path)}
    if kind == "hf_hub_download":
        path = hub.hf_hub_download(op["repo"], op["filename"], revision=op.get("revision"), token=token)
        return {"path": path, "sha256": sha256_file(path), "blob": os.path.basename(os.path.realpath(path))}
    if kind == "resume":
        partial = Path(op["partial"]).read_bytes()
        if hub.__version__.startswith("0."):
            # 0.x keeps a cut-short download as blobs/<etag>.incomplete and resumes it with a Range request.
            from huggingface_hub.file_download import repo_folder_name

            storage = Path(hub.constants.HF_HUB_CACHE) / repo_folder_name(repo_id=op["repo"], repo_type="model")
            (storage / "blobs").mkdir(parents=True, exist_ok=True)
            (storage / "blobs" / (op["etag"] + ".incomplete")).write_bytes(partial)
            path = hub.hf_hub_download(op["repo"], op["filename"], token=token)
            return {"sha256": sha256_file(path)}
        # 1.x+ download into a per-process temporary file and resume inside http_get after a broken
        # connection: drive that same code path with the bytes a broken connection left behind.
        from huggingface_hub.file_download import http_get

        target = Path(op["partial"]).with_suffix(".resumed")
        target.write_bytes(partial)
        with open(target, "ab") as handle:
            http_get(hub.hf_hub_url(op["repo"], op["filename"]), handle, resume_size=len(partial),
                     expected_size=op["size"])
        return {"sha256": sha256_file(target)}
    if kind == "file_metadata":
        meta = hub.get_hf_file_metadata(hub.hf_hub_url(op["repo"], op["filename"], revision=op.get("revision")), token=token)
        return {"commit_hash": meta.commit_hash, "etag": meta.etag, "size": meta.size, "location": meta.location}
    if kind == "model_info":
        info = hub.HfApi().model_info(op["repo"], revision=op.get("revision"), token=token)
        return {"id": info.id, "sha": info.sha, "siblings": sorted(s.rfilename for s in info.siblings), "gated": info.gated}
    if kind == "list_repo_tree":
        entries = hub.HfApi().list_repo_tree(
            op["repo"], path_in_repo=op.get("path"), recursive=op.get("recursive", False), revision=op.get("revision"), token=token
        )
        return [
            {"path": e.path, "type": type(e).__name__, "lfs_sha256": getattr(getattr(e, "lfs", None), "sha256", None)}
            for e in entries
        ]
    if kind == "list_repo_files":
        return sorted(hub.HfApi().list_repo_files(op["repo"], revision=op.get("revision"), token=token))
    if kind == "verify_repo_checksums":
        result = hub.HfApi().verify_repo_checksums(op["repo"], revision=op.get("revision"), token=token)
        return {"checked": result.checked_count, "mismatches": [str(m) for m in result.mismatches],
                "missing": list(result.missing_paths), "extra": list(result.extra_paths)}
    if kind == "list_models":
        models = hub.HfApi().list_models(search=op.get("search"), author=op.get("author"), limit=op.get("limit"),
                                         sort=op.get("sort"), full=op.get("full"), token=token)
        return [{"id": m.id, "sha": m.sha, "private": m.private,
                 "siblings": sorted(s.rfilename for s in m.siblings) if m.siblings else None} for m in models]
    if kind == "model_info_full":
        info = hub.HfApi().model_info(op["repo"], revision=op.get("revision"), token=token, files_metadata=True)
        return {"sha": info.sha, "safetensors": dict(info.safetensors.parameters) if info.safetensors else None,
                "total": info.safetensors.total if info.safetensors else None, "config": info.config,
                "last_modified": info.last_modified.isoformat() if info.last_modified else None,
                "sizes": {s.rfilename: [s.size, s.lfs.sha256 if s.lfs else None] for s in info.siblings}}
    if kind == "list_repo_refs":
        refs = hub.HfApi().list_repo_refs(op["repo"], token=token)
        return {"branches": {b.name: b.target_commit for b in refs.branches},
                "tags": {t.name: t.target_commit for t in refs.tags}}
    if kind == "list_repo_commits":
        commits = hub.HfApi().list_repo_commits(op["repo"], revision=op.get("revision"), token=token)
        return [{"id": c.commit_id, "authors": c.authors, "title": c.title, "message": c.message,
                 "date": c.created_at.isoformat()} for c in commits]
    if kind == "get_paths_info":
        infos = hub.HfApi().get_paths_info(op["repo"], op["paths"], expand=op.get("expand", False),
                                           revision=op.get("revision"), token=token)
        return [{"path": i.path, "type": type(i).__name__, "size": getattr(i, "size", None),
                 "sha256": i.lfs.sha256 if getattr(i, "lfs", None) else None,
                 "last_commit": i.last_commit.oid if i.last_commit else None} for i in infos]
    if kind == "fs":
        fs = hub.HfFileSystem(token=token)
        root = op["repo"] + (f"@{op['revision']}" if op.get("revision") else "")
        out = {"ls": sorted(e["name"] for e in fs.ls(root, detail=True)),
               "glob": sorted(fs.glob(f"{root}/**/*.md")),
               "info": {k: v for k, v in fs.info(f"{root}/{op['file']}").items() if k in ("name", "size", "type")}}
        with fs.open(f"{root}/{op['file']}", "rb") as handle:
            handle.seek(op["start"])
            out["range"] = handle.read(op["length"]).hex()
        out["modified"] = fs.modified(f"{root}/{op['file']}").isoformat()
        return out
    if kind == "auto_config":
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(op["repo"], revision=op.get("revision", "main"), token=token)
        return {"model_type": config.model_type, "vocab_size": config.vocab_size, "n_embd": config.n_embd,
                "coda_marker": getattr(config, "coda_marker", None)}
    if kind == "auto_tokenizer":
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(op["repo"], revision=op.get("revision", "main"), token=token)
        return {"class": type(tokenizer).__name__, "ids": tokenizer(op["text"])["input_ids"]}
    raise ValueError(f"unknown operation {kind}")


def main() -> None:
    results = []
    for op in json.loads(sys.argv[1]):
        try:
            results.append({"ok": run(op)})
        except Exception as exc:  # reported to the test, which asserts on the class names
            results.append({"error": type(exc).__name__, "mro": [c.__name__ for c in type(exc).__mro__], "message": str(exc)})
    sys.stdout.write("\n" + json.dumps(results) + "\n")


if __name__ == "__main__":
    main()
