"""Typed results: each keeps the fields scripts use and the whole JSON object as `raw`."""

from dataclasses import dataclass, field, fields
from typing import Any


class Record:
    @classmethod
    def from_json(cls, data: dict):
        names = {f.name for f in fields(cls)} - {"raw"}
        return cls(**{name: data.get(name) for name in names}, raw=data)

    def to_json(self) -> dict:
        return self.raw


@dataclass
class Provider(Record):
    slug: str
    name: str | None = None
    raw: dict = field(default_factory=dict, repr=False)


@dataclass
class Model(Record):
    id: str
    provider: Any = None
    name: str | None = None
    display_name: str | None = None
    status: str | None = None
    deprecated_on: str | None = None
    retires_on: str | None = None
    preservation_status: str | None = None
    raw: dict = field(default_factory=dict, repr=False)


@dataclass
class Retirement(Record):
    id: int
    model: Any = None
    retired_on: str | None = None
    raw: dict = field(default_factory=dict, repr=False)


@dataclass
class File(Record):
    path: str
    size: int | None = None
    sha256: str | None = None
    kind: str | None = None
    raw: dict = field(default_factory=dict, repr=False)


@dataclass
class Snapshot(Record):
    id: int
    revision: str | None = None
    state: str | None = None
    sealed_at: str | None = None
    file_count: int | None = None
    total_size: int | None = None
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def files(self) -> list[File]:
        return [File.from_json(f) for f in self.raw.get("files") or []]


@dataclass
class Job(Record):
    id: int
    state: str
    revision: str | None = None
    progress: dict | None = None
    error: str | None = None
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def done(self) -> bool:
        return self.state in ("succeeded", "failed", "cancelled")


@dataclass
class Event(Record):
    id: int
    type: str | None = None
    outcome: str | None = None
    created_at: str | None = None
    model: str | None = None
    raw: dict = field(default_factory=dict, repr=False)


@dataclass
class AccessRequest(Record):
    id: int
    model: Any = None
    status: str | None = None
    raw: dict = field(default_factory=dict, repr=False)
