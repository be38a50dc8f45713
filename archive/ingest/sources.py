"""Where files come from: a directory under a staging root, or s3://bucket/prefix on the source
endpoint. Paths are resolved, then checked for containment; snapshot paths are validated."""

import os
import re
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from archive.exceptions import (
    EmptySource,
    InvalidSnapshotPath,
    InvalidSource,
    PathOutsideStagingRoot,
    SourceChanged,
    UnreadableFile,
)
from archive.models import FileFormat, FileKind
from archive.storage.s3_client import s3_client

CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class SourceFile:
    path: str  # relative POSIX path inside the snapshot
    size: int
    mtime_ns: int | None


def validate_snapshot_path(path: str) -> str:
    """Relative POSIX, NFC, no '..', no absolute path, no control characters."""
    if not path or CONTROL_RE.search(path):
        raise InvalidSnapshotPath(f"Path {path!r} is empty or contains control characters.")
    if unicodedata.normalize("NFC", path) != path:
        raise InvalidSnapshotPath(f"Path {path!r} is not in Unicode NFC form.")
    if path.startswith("/") or "\\" in path:
        raise InvalidSnapshotPath(f"Path {path!r} must be relative and use '/' separators.")
    parts = PurePosixPath(path).parts
    if any(part in ("..", ".", "") for part in parts) or path != "/".join(parts):
        raise InvalidSnapshotPath(f"Path {path!r} must not contain '.', '..' or empty segments.")
    if len(path.encode()) > 1024:
        raise InvalidSnapshotPath(f"Path {path[:60]!r}… is longer than 1024 bytes.")
    return path


def classify(path: str) -> tuple[str, str]:
    """(kind, format) from the file name."""
    name = PurePosixPath(path).name.lower()
    suffix = PurePosixPath(name).suffix
    fmt = {
        ".safetensors": FileFormat.SAFETENSORS,
        ".gguf": FileFormat.GGUF,
        ".bin": FileFormat.PYTORCH,
        ".pt": FileFormat.PYTORCH,
        ".pth": FileFormat.PYTORCH,
        ".ckpt": FileFormat.PYTORCH,
        ".onnx": FileFormat.ONNX,
        ".json": FileFormat.JSON,
        ".txt": FileFormat.TEXT,
        ".md": FileFormat.TEXT,
        ".model": FileFormat.OTHER,
        ".jsonl": FileFormat.JSON,
    }.get(suffix, FileFormat.OTHER)
    if fmt in (FileFormat.SAFETENSORS, FileFormat.GGUF, FileFormat.PYTORCH, FileFormat.ONNX) or name.endswith(
        ".safetensors.index.json"
    ):
        kind = FileKind.WEIGHTS
    elif name.startswith("tokenizer") or name in ("vocab.json", "merges.txt", "special_tokens_map.json") or name.endswith(".model"):
        kind = FileKind.TOKENIZER
    elif name in ("config.json", "generation_config.json") or name.endswith("config.json"):
        kind = FileKind.CONFIG
    elif name in ("readme.md", "model_card.md", "modelcard.md"):
        kind = FileKind.MODEL_CARD
    elif "interview" in path.lower():
        kind = FileKind.INTERVIEW
    elif "report" in path.lower():
        kind = FileKind.REPORT
    elif "eval" in path.lower():
        kind = FileKind.EVALUATION
    else:
        kind = FileKind.OTHER
    return kind, fmt


# --- staging directories ---------------------------------------------------------------------


def resolve_staging_dir(source: str) -> Path:
    """Resolve a directory and require it to lie inside a configured staging root (symlinks resolved first). A
    relative path is refused: it would be read against the server's own working directory, not the caller's (the
    client and manage.py preserve make a caller's relative path absolute before they send it)."""
    roots = settings.CODA_STAGING_ROOTS
    allowed = ", ".join(str(r) for r in roots)
    if not Path(source).expanduser().is_absolute():
        raise InvalidSource(f"Source {source!r} is a relative path: give the absolute path of a directory inside a "
                            f"staging root ({allowed}; set by CODA_STAGING_ROOTS).")
    try:
        resolved = Path(source).expanduser().resolve(strict=True)
    except (FileNotFoundError, RuntimeError):
        raise InvalidSource(f"Source directory {source!r} does not exist.") from None
    if not any(resolved.is_relative_to(Path(root).resolve()) for root in roots):
        raise PathOutsideStagingRoot(f"Source {source!r} resolves to {resolved}, outside the staging roots ({allowed}; "
                                     "set by CODA_STAGING_ROOTS).")
    if not resolved.is_dir():
        raise InvalidSource(f"Source {source!r} is not a directory.")
    return resolved


def list_staging_dir(directory: Path) -> list[SourceFile]:
    """Every regular file below `directory`; symlinks that leave it, special files and unreadable files are refused."""
    files = []
    for dirpath, dirnames, filenames in os.walk(directory, followlinks=False):
        for dirname in dirnames:
            full = Path(dirpath) / dirname
            if full.is_symlink():
                raise PathOutsideStagingRoot(f"{full} is a symbolic link to a directory; copy the files instead.")
        for filename in filenames:
            full = Path(dirpath) / filename
            real = full.resolve()
            if not real.is_relative_to(directory):
                raise PathOutsideStagingRoot(f"{full} is a symbolic link that leaves the source directory.")
            try:
                st = real.stat()
            except OSError as exc:
                raise UnreadableFile(f"Cannot read {full}: {exc.strerror}.") from None
            if not stat.S_ISREG(st.st_mode):
                raise InvalidSource(f"{full} is not a regular file.")
            if not os.access(real, os.R_OK):
                raise UnreadableFile(f"Cannot read {full}: permission denied.")
            rel = full.relative_to(directory).as_posix()
            files.append(SourceFile(validate_snapshot_path(rel), st.st_size, st.st_mtime_ns))
    if not files:
        raise EmptySource(f"Source directory {directory} holds no files.")
    return sorted(files, key=lambda f: f.path.encode())


# --- S3 sources ---------------------------------------------------------------------------------


def parse_s3_source(source: str) -> tuple[str, str]:
    match = re.match(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(.*))?$", source)
    if not match:
        raise InvalidSource(f"S3 source {source!r} must look like s3://bucket/prefix.")
    prefix = (match.group(2) or "").strip("/")
    return match.group(1), (prefix + "/" if prefix else "")


def source_s3_client():
    return s3_client(
        endpoint_url=os.environ.get("CODA_SOURCE_S3_ENDPOINT_URL", ""),
        region=os.environ.get("CODA_SOURCE_S3_REGION", ""),
        access_key=os.environ.get("CODA_SOURCE_S3_ACCESS_KEY_ID"),
        secret_key=os.environ.get("CODA_SOURCE_S3_SECRET_ACCESS_KEY"),
    )


def list_s3_source(source: str) -> list[SourceFile]:
    bucket, prefix = parse_s3_source(source)
    files = []
    try:
        for page in source_s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if obj["Key"].endswith("/"):
                    continue
                rel = obj["Key"][len(prefix) :]
                files.append(SourceFile(validate_snapshot_path(rel), obj["Size"], None))
    except (BotoCoreError, ClientError) as exc:
        raise InvalidSource(f"Cannot list {source}: {exc}") from None
    if not files:
        raise EmptySource(f"S3 source {source} holds no objects.")
    return sorted(files, key=lambda f: f.path.encode())


def list_source(source: str) -> tuple[str, list[SourceFile]]:
    """(canonical source, files) for a staging directory or an s3:// URL."""
    if source.startswith("s3://"):
        return source, list_s3_source(source)
    directory = resolve_staging_dir(source)
    return str(directory), list_staging_dir(directory)


class OpenedSource:
    """A source file opened for one streamed read; `check_unchanged` compares it with the listing afterwards."""

    def __init__(self, source: str, path: str, *, size: int, mtime_ns: int | None):
        self.source, self.path, self.size, self.mtime_ns = source, path, size, mtime_ns
        self.stream: BinaryIO | None = None

    def __enter__(self) -> BinaryIO:
        if self.source.startswith("s3://"):
            bucket, prefix = parse_s3_source(self.source)
            self.key = prefix + self.path
            self.client = source_s3_client()
            try:
                response = self.client.get_object(Bucket=bucket, Key=self.key)
            except Exception as exc:
                raise UnreadableFile(f"Cannot read s3://{bucket}/{self.key}: {exc}") from None
            self.etag = response.get("ETag")
            self.stream = response["Body"]
        else:
            root = Path(self.source)
            full = (root / self.path).resolve()
            if not full.is_relative_to(root):
                raise PathOutsideStagingRoot(f"{self.path} leaves the source directory.")
            try:
                self.stream = open(full, "rb")
            except OSError as exc:
                raise UnreadableFile(f"Cannot read {full}: {exc.strerror}.") from None
            self.full = full
        return self.stream

    def check_unchanged(self) -> None:
        if self.source.startswith("s3://"):
            bucket, _ = parse_s3_source(self.source)
            head = self.client.head_object(Bucket=bucket, Key=self.key)
            changed = head["ContentLength"] != self.size or head.get("ETag") != self.etag
        else:
            st = os.stat(self.full)
            changed = st.st_size != self.size or (self.mtime_ns is not None and st.st_mtime_ns != self.mtime_ns)
        if changed:
            raise SourceChanged(f"{self.path} changed while it was being read (size or modification time differs).")

    def __exit__(self, *exc_info):
        if self.stream is not None:
            self.stream.close()
