"""A tiny but real model repository (config, tokenizer, safetensors weights, nested paths), preserved
synchronously, for the Hub-compatible API and BagIt tests."""

import hashlib
import json

import numpy as np
from django.test import TestCase
from safetensors.numpy import save as safetensors_save
from tokenizers import Tokenizer, models, pre_tokenizers

from archive.ingest import services
from archive.models import IngestJob, Snapshot
from tests.archive.helpers import make_tree, random_bytes

VOCAB = {"[UNK]": 0, "[PAD]": 1, "hello": 2, "world": 3, "coda": 4, "archive": 5, "é": 6}


def synthetic_files(*, big: int = 3 * 1024 * 1024 + 123) -> dict[str, bytes]:
    tokenizer = Tokenizer(models.WordLevel(vocab=VOCAB, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    config = {
        "model_type": "gpt2",
        "architectures": ["GPT2LMHeadModel"],
        "vocab_size": len(VOCAB),
        "n_embd": 4,
        "n_layer": 1,
        "n_head": 1,
        "n_positions": 16,
        "coda_marker": "synthetic",
    }
    weights = safetensors_save(
        {
            "wte.weight": np.arange(len(VOCAB) * 4, dtype=np.float32).reshape(len(VOCAB), 4),
            "h.0.ln_1.weight": np.ones(4, dtype=np.float32),
        },
        metadata={"format": "np"},
    )
    return {
        "config.json": json.dumps(config, indent=2).encode(),
        "tokenizer.json": tokenizer.to_str().encode(),
        "tokenizer_config.json": json.dumps(
            {"tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "[UNK]", "pad_token": "[PAD]"}
        ).encode(),
        "model.safetensors": weights,
        "shards/part-00001.bin": random_bytes(big, seed=11),  # several chunks: ranges, resumes
        "docs/nested/deeper/README.md": "# Notes\n\nNested path, non-ASCII: café\n".encode(),
        "empty.txt": b"",
    }


def preserve_now(*, model, source_dir, monkeypatch) -> Snapshot:
    """Ingest `source_dir` as a snapshot of `model`, running the per-file tasks inline."""
    from archive.tasks import snapshot_file_ingest

    sent = []
    with monkeypatch.context() as patch:
        patch.setattr(snapshot_file_ingest, "delay", lambda file_id: sent.append(file_id))
        # Queueing happens on commit; inside a test transaction, run those callbacks here.
        with TestCase.captureOnCommitCallbacks(execute=True):
            job = services.snapshot_ingest_start(model=model, source=str(source_dir))
        for file_id in sent:
            services.snapshot_file_ingest(file_id=file_id)
    job.refresh_from_db()
    assert job.state == IngestJob.State.SUCCEEDED, job.error
    return Snapshot.objects.get(pk=job.snapshot_id)


def build_and_preserve(*, model, staging_dir, monkeypatch, name="synthetic", files=None):
    files = files if files is not None else synthetic_files()
    make_tree(staging_dir / name, files)
    return preserve_now(model=model, source_dir=staging_dir / name, monkeypatch=monkeypatch), files


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
