"""Model-aware inspection: real safetensors and GGUF files (written with their own packages) go through
ingest; headers are read from the ingest stream, malformed files are recorded as problems and still
preserved byte-exact, and sharded checkpoints are checked for completeness."""

import hashlib
import json
import math
import pickle
import struct

import gguf
import numpy as np
import pytest
from safetensors import TensorSpec, deserialize, serialize
from safetensors.numpy import save

from archive import inspection
from archive.delivery import downloads as delivery
from archive.ingest import services
from archive.inspection import gguf_header
from archive.inspection.files import FileInspector
from archive.models import Replica, Snapshot, SnapshotFile
from archive.tasks import snapshot_file_ingest
from tests.archive.helpers import make_tree
from tests.factories import AIModelFactory, ProviderFactory

MIB = 1024 * 1024


@pytest.fixture
def dispatched(monkeypatch):
    """Record task dispatches; the test runs each file's ingest synchronously."""
    sent = []
    monkeypatch.setattr(snapshot_file_ingest, "delay", lambda file_id: sent.append(file_id))
    return sent


@pytest.fixture
def model(transactional_db):
    return AIModelFactory(provider=ProviderFactory(slug="acme"), name="acme-7b")


def ingest(model, directory) -> Snapshot:
    """Start an ingest and run every file's ingest in this process, as the worker would."""
    job = services.snapshot_ingest_start(model=model, source=str(directory))
    for row in SnapshotFile.objects.filter(snapshot=job.snapshot).order_by("path"):
        services.snapshot_file_ingest(file_id=row.pk)
    return Snapshot.objects.get(pk=job.snapshot_id)


def stored_bytes(row: SnapshotFile) -> bytes:
    return b"".join(delivery.iter_blob(delivery.readable_replica(row.blob)))


def bf16(shape, seed=0) -> np.ndarray:
    """bfloat16 payload (numpy has no bfloat16: the raw 16-bit patterns)."""
    return np.random.default_rng(seed).integers(0, 2**16, size=shape, dtype=np.uint16)


def safetensors_bytes(tensors: dict, metadata: dict | None = None) -> bytes:
    """Serialise with the safetensors package; arrays tagged ("BF16", uint16 array) are written as BF16."""
    specs, alive = {}, []
    for name, value in tensors.items():
        dtype, array = ("bfloat16", value[1]) if isinstance(value, tuple) else (value.dtype.name, value)
        array = np.ascontiguousarray(array)
        alive.append(array)
        specs[name] = TensorSpec(dtype=dtype, shape=array.shape, data_ptr=array.ctypes.data, data_len=array.nbytes)
    return bytes(serialize(specs, metadata=metadata))


def numel(value) -> int:
    return (value[1] if isinstance(value, tuple) else value).size


def raw_safetensors(header: dict, data: bytes) -> bytes:
    """A safetensors file written by hand (for the malformed cases the package refuses to write)."""
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


# --- a sharded checkpoint ---------------------------------------------------------------------

SHARDS = {
    "model-00001-of-00002.safetensors": {
        "model.embed_tokens.weight": ("BF16", bf16((32, 16), seed=1)),
        "model.layers.0.self_attn.q_proj.weight": np.random.default_rng(2).standard_normal((16, 16)).astype(np.float16),
        "model.layers.0.input_layernorm.weight": np.ones(16, dtype=np.float32),
    },
    "model-00002-of-00002.safetensors": {
        "model.layers.1.mlp.down_proj.weight": ("BF16", bf16((16, 24), seed=3)),
        "model.norm.weight": np.ones(16, dtype=np.float32),
        "lm_head.position_ids": np.arange(40, dtype=np.int64),
        "lm_head.mask": np.ones(8, dtype=np.int8),
    },
}
CONFIG = {
    "architectures": ["AcmeForCausalLM"],
    "model_type": "acme",
    "hidden_size": 16,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "vocab_size": 32,
    "torch_dtype": "bfloat16",
    "max_position_embeddings": 4096,
    "rope_theta": 10000.0,
}


def sharded_checkpoint(root, *, drop_shard=None, extra_tensor=None, total_size_delta=0) -> dict[str, bytes]:
    """A Hugging Face-style sharded checkpoint; the index is computed here as transformers writes it."""
    files = {name: safetensors_bytes(tensors, metadata={"format": "pt"}) for name, tensors in SHARDS.items()}
    weight_map = {t: shard for shard, tensors in SHARDS.items() for t in tensors}
    total = sum(numel(v) * (2 if isinstance(v, tuple) else v.itemsize) for ts in SHARDS.values() for v in ts.values())
    if extra_tensor:
        weight_map[extra_tensor] = "model-00001-of-00002.safetensors"
    if drop_shard:
        del files[drop_shard]
    files["model.safetensors.index.json"] = json.dumps(
        {"metadata": {"total_size": total + total_size_delta}, "weight_map": weight_map}, indent=2
    ).encode()
    files["config.json"] = json.dumps(CONFIG).encode()
    files["generation_config.json"] = json.dumps({"bos_token_id": 1, "eos_token_id": [2, 3], "temperature": 0.7}).encode()
    files["tokenizer_config.json"] = json.dumps(
        {"tokenizer_class": "AcmeTokenizer", "model_max_length": 4096, "chat_template": "{{ messages }}"}
    ).encode()
    files["README.md"] = b"# acme-7b\n"
    make_tree(root, files)
    return files


def expected_parameters():
    by_dtype = {}
    for tensors in SHARDS.values():
        for value in tensors.values():
            dtype = "BF16" if isinstance(value, tuple) else {"float16": "F16", "float32": "F32", "int64": "I64", "int8": "I8"}[value.dtype.name]
            by_dtype[dtype] = by_dtype.get(dtype, 0) + numel(value)
    return by_dtype


def test_sharded_checkpoint_inspected_at_ingest(model, staging_dir, dispatched, anon_client):
    files = sharded_checkpoint(staging_dir / "ckpt")
    snapshot = ingest(model, staging_dir / "ckpt")
    assert snapshot.state == Snapshot.State.SEALED

    by_dtype = expected_parameters()
    assert set(by_dtype) == {"BF16", "F16", "F32", "I64", "I8"}
    report = snapshot.inspection
    assert report["complete"] is True, report["problems"]
    assert report["problems"] == []
    assert report["parameter_count"] == sum(by_dtype.values()) == 32 * 16 + 256 + 16 + 16 * 24 + 16 + 40 + 8
    assert report["parameters_by_dtype"] == by_dtype
    assert report["tensor_count"] == 7
    assert report["dtypes"] == ["BF16", "F16", "F32", "I64", "I8"]
    assert report["formats"] == {"json": 4, "safetensors": 2, "text": 1}
    assert report["architecture"] == "AcmeForCausalLM" and report["model_type"] == "acme"
    assert report["context_length"] == 4096
    assert report["config"] == {k: v for k, v in CONFIG.items() if k != "rope_theta"}
    assert report["tokenizer"]["tokenizer_class"] == "AcmeTokenizer" and report["tokenizer"]["has_chat_template"]

    # Per-file: the header as the safetensors package itself reads it, metadata kept.
    shard = SnapshotFile.objects.get(snapshot=snapshot, path="model-00001-of-00002.safetensors")
    oracle = dict(deserialize(files[shard.path]))
    assert set(shard.inspection["tensors"]) == set(oracle)
    assert {n: t["shape"] for n, t in shard.inspection["tensors"].items()} == {n: list(t["shape"]) for n, t in oracle.items()}
    assert shard.inspection["metadata"] == {"format": "pt"}
    assert shard.problems == []
    generation = SnapshotFile.objects.get(snapshot=snapshot, path="generation_config.json")
    assert generation.inspection["generation_config"] == {"bos_token_id": 1, "eos_token_id": [2, 3], "temperature": 0.7}

    # The catalogue entry had no parameter count: the newest sealed snapshot fills it.
    model.refresh_from_db()
    assert model.parameter_count == sum(by_dtype.values())

    # The API shows the snapshot-level inspection, and per-file inspection without the tensor table.
    body = anon_client.get(f"/api/v1/models/acme/acme-7b/snapshots/{snapshot.revision}/").json()
    assert body["inspection"]["complete"] is True
    assert body["inspection"]["parameter_count"] == sum(by_dtype.values())
    listed = {f["path"]: f for f in body["files"]}
    assert listed[shard.path]["inspection"]["parameters_by_dtype"] == {"BF16": 512, "F16": 256, "F32": 16}
    assert "tensors" not in listed[shard.path]["inspection"]
    assert listed["model.safetensors.index.json"]["inspection"]["index"]["tensor_count"] == 7
    assert listed[shard.path]["problems"] == []


@pytest.mark.parametrize(
    "damage, code, path, words",
    [
        ({"drop_shard": "model-00002-of-00002.safetensors"}, "missing_shard", "model-00002-of-00002.safetensors", "not in the snapshot"),
        ({"extra_tensor": "model.layers.1.self_attn.k_proj.weight"}, "tensor_missing_from_shard", "model-00001-of-00002.safetensors", "model.layers.1.self_attn.k_proj.weight"),
        ({"total_size_delta": 2}, "total_size_mismatch", "model.safetensors.index.json", "take"),
    ],
)
def test_incomplete_checkpoint_is_flagged_with_each_problem_named(model, staging_dir, dispatched, damage, code, path, words):
    files = sharded_checkpoint(staging_dir / "ckpt", **damage)
    snapshot = ingest(model, staging_dir / "ckpt")
    assert snapshot.state == Snapshot.State.SEALED  # preserved as it is, flagged rather than refused
    report = snapshot.inspection
    assert report["complete"] is False
    assert [(p["code"], p["path"]) for p in report["problems"]] == [(code, path)]
    assert words in report["problems"][0]["message"]
    for row in SnapshotFile.objects.filter(snapshot=snapshot).select_related("blob"):
        assert stored_bytes(row) == files[row.path]


def test_shards_without_index_and_missing_numbered_shard(model, staging_dir, dispatched):
    first = safetensors_bytes({"w": np.zeros(4, dtype=np.float32)})
    make_tree(staging_dir / "loose", {"model-00001-of-00003.safetensors": first, "model-00003-of-00003.safetensors": first})
    report = ingest(model, staging_dir / "loose").inspection
    assert report["complete"] is False
    assert {(p["code"], p["path"]) for p in report["problems"]} == {
        ("missing_shard", "model-00002-of-00003.safetensors"),
        ("missing_index", "model.safetensors"),
    }


# --- malformed weight files ----------------------------------------------------------------------

GOOD_DATA = np.arange(4, dtype=np.float32).tobytes()  # 16 bytes


def _json_header_garbage():
    text = b'{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]'  # unterminated
    return struct.pack("<Q", len(text)) + text + GOOD_DATA


MALFORMED = {
    "header_length_beyond_file": struct.pack("<Q", 10_000) + b'{"w": {}}' + GOOD_DATA,
    "invalid_header_json": _json_header_garbage(),
    "offsets_overlap": raw_safetensors(
        {"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}},
        GOOD_DATA,
    ),
    "offset_out_of_range": raw_safetensors({"w": {"dtype": "F32", "shape": [250], "data_offsets": [0, 1000]}}, GOOD_DATA),
    "unknown_dtype": raw_safetensors({"w": {"dtype": "F12", "shape": [4], "data_offsets": [0, 16]}}, GOOD_DATA),
    "size_mismatch": raw_safetensors({"w": {"dtype": "F16", "shape": [4], "data_offsets": [0, 16]}}, GOOD_DATA),
    "offsets_gap": raw_safetensors({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, GOOD_DATA),
}


@pytest.mark.parametrize("code", sorted(MALFORMED))
def test_malformed_safetensors_recorded_and_preserved_byte_exact(model, staging_dir, dispatched, code):
    data = MALFORMED[code]
    with pytest.raises(Exception):  # the reference implementation refuses it too
        deserialize(data)
    make_tree(staging_dir / "bad", {"model.safetensors": data, "config.json": json.dumps(CONFIG).encode()})
    snapshot = ingest(model, staging_dir / "bad")
    assert snapshot.state == Snapshot.State.SEALED
    row = SnapshotFile.objects.select_related("blob").get(snapshot=snapshot, path="model.safetensors")
    assert row.state == SnapshotFile.State.STORED
    assert stored_bytes(row) == data
    assert row.blob.sha256 == hashlib.sha256(data).hexdigest()
    assert code in [p["code"] for p in row.problems], row.problems
    assert all(p["path"] == "model.safetensors" and p["message"] for p in row.problems)
    assert snapshot.inspection["complete"] is False
    assert code in [p["code"] for p in snapshot.inspection["problems"]]
    assert snapshot.inspection["architecture"] == "AcmeForCausalLM"  # the rest of the snapshot is still described


def test_odd_but_valid_header_values_are_stored(model, staging_dir, dispatched):
    """NUL characters are legal JSON but not storable in PostgreSQL's jsonb; NaN is not JSON at all."""
    odd = safetensors_bytes({"w\x00eird": np.zeros(2, dtype=np.float32)}, metadata={"note": "a\x00b"})
    nan = raw_safetensors({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "__metadata__": {"x": "y"}}, GOOD_DATA)
    nan = nan.replace(b'"y"', b"NaN")
    make_tree(staging_dir / "odd", {"odd.safetensors": odd, "nan.safetensors": nan})
    snapshot = ingest(model, staging_dir / "odd")
    rows = {r.path: r for r in SnapshotFile.objects.filter(snapshot=snapshot)}
    assert rows["odd.safetensors"].problems == []
    assert rows["odd.safetensors"].inspection["metadata"] == {"note": "a\ufffdb"}
    assert list(rows["odd.safetensors"].inspection["tensors"]) == ["w\ufffdeird"]
    assert [p["code"] for p in rows["nan.safetensors"].problems] == ["invalid_header_json"]


def test_header_over_the_limit_is_refused_not_buffered(model, staging_dir, dispatched, monkeypatch):
    from archive.inspection import files as inspection_files

    monkeypatch.setattr(inspection_files, "HEADER_LIMIT", 64)
    data = safetensors_bytes({f"tensor_{i}": np.zeros(2, dtype=np.float32) for i in range(10)})
    make_tree(staging_dir / "big", {"model.safetensors": data})
    row = SnapshotFile.objects.get(snapshot=ingest(model, staging_dir / "big"))
    assert [p["code"] for p in row.problems] == ["header_too_large"]
    assert stored_bytes(row) == data


def test_broken_config_and_truncated_file(model, staging_dir, dispatched):
    make_tree(staging_dir / "t", {"config.json": b"{'not': json}", "tiny.safetensors": b"\x05\x00"})
    snapshot = ingest(model, staging_dir / "t")
    codes = {(p["code"], p["path"]) for p in snapshot.inspection["problems"]}
    assert codes == {("invalid_json", "config.json"), ("header_length_beyond_file", "tiny.safetensors")}
    assert snapshot.inspection["config"] == {} and snapshot.inspection["architecture"] is None


# --- parsing across chunk boundaries and the single read -------------------------------------------


def test_header_split_at_every_byte_boundary():
    data = safetensors_bytes({"a": np.zeros((3, 5), dtype=np.float64), "b": ("BF16", bf16((7,)))}, metadata={"k": "v"})
    whole = FileInspector(path="m.safetensors", format="safetensors", size=len(data))
    whole.feed(data)
    expected = whole.finish()
    for step in (1, 2, 3, 7, 8, 9, 64):
        inspector = FileInspector(path="m.safetensors", format="safetensors", size=len(data))
        for i in range(0, len(data), step):
            inspector.feed(data[i : i + step])
        assert inspector.finish() == expected
    assert expected[0]["parameter_count"] == 15 + 7 and expected[1] == []


def test_each_file_read_once_with_inspection(model, staging_dir, dispatched, monkeypatch, s3_location, settings, tmp_path):
    """Headers come from the ingest stream itself: every source byte is read exactly once (multipart S3 too)."""
    settings.CODA_PART_SIZE = 5 * MIB
    big = {"embed": np.arange(3 * MIB, dtype=np.float32), "head": ("BF16", bf16((64, 64)))}  # ~12 MiB: 3 parts
    files = {
        "model.safetensors": safetensors_bytes(big),
        "model-q8.gguf": gguf_file(tmp_path / "q.gguf"),
        "config.json": json.dumps(CONFIG).encode(),
        "tokenizer_config.json": b'{"tokenizer_class": "X"}',
    }
    make_tree(staging_dir / "once", files)
    from tests.archive.helpers import count_source_reads

    counted = count_source_reads(monkeypatch)
    snapshot = ingest(model, staging_dir / "once")
    assert counted == {path: len(data) for path, data in files.items()}
    report = snapshot.inspection
    assert report["complete"] is True, report["problems"]
    # safetensors weights are the headline; the GGUF is listed as its own weight set.
    assert report["parameter_count"] == 3 * MIB + 64 * 64
    assert report["parameters_by_dtype"] == {"BF16": 64 * 64, "F32": 3 * MIB}
    assert {s["format"]: s["counted"] for s in report["weight_sets"]} == {"safetensors": True, "gguf": False}


def test_chunk_size_smaller_than_every_field(model, staging_dir, dispatched, settings):
    settings.CODA_CHUNK_SIZE = 5  # every header field straddles a read
    sharded_checkpoint(staging_dir / "ckpt")
    report = ingest(model, staging_dir / "ckpt").inspection
    assert report["complete"] is True and report["parameter_count"] == sum(expected_parameters().values())


# --- GGUF ----------------------------------------------------------------------------------------


def gguf_file(path, *, split=None) -> bytes:
    """A small GGUF written by the gguf package: F16, F32 and Q8_0 tensors, a vocabulary, a chat template."""
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("acme-7b")
    writer.add_context_length(8192)
    writer.add_embedding_length(64)
    writer.add_block_count(2)
    writer.add_head_count(4)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    writer.add_quantization_version(2)
    writer.add_token_list([f"tok{i}" for i in range(500)])
    writer.add_token_scores([0.0] * 500)
    writer.add_chat_template("{% for m in messages %}{{ m.content }}{% endfor %}" * 200)
    writer.add_tensor("token_embd.weight", np.zeros((500, 64), dtype=np.float16))
    writer.add_tensor("blk.0.attn_q.weight", np.zeros((64, 2 * 34), dtype=np.uint8), raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    writer.add_tensor("output_norm.weight", np.ones(64, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path.read_bytes()


def test_gguf_header_read_from_the_stream(model, staging_dir, dispatched, tmp_path):
    data = gguf_file(tmp_path / "m.gguf")
    make_tree(staging_dir / "g", {"acme-7b.Q8_0.gguf": data})
    snapshot = ingest(model, staging_dir / "g")
    row = SnapshotFile.objects.get(snapshot=snapshot)
    assert row.problems == []
    facts = row.inspection
    # The gguf package's own reader is the oracle.
    reader = gguf.GGUFReader(str(tmp_path / "m.gguf"))
    assert facts["tensor_count"] == len(reader.tensors) == 3
    assert facts["parameter_count"] == sum(int(t.n_elements) for t in reader.tensors) == 500 * 64 + 64 * 64 + 64
    assert facts["parameters_by_dtype"] == {"F16": 500 * 64, "F32": 64, "Q8_0": 64 * 64}
    assert facts["architecture"] == "llama" and facts["context_length"] == 8192
    assert facts["file_type_name"] == "MOSTLY_Q8_0" and facts["quantization_version"] == 2
    assert facts["hyperparameters"]["block_count"] == 2 and facts["hyperparameters"]["attention.head_count"] == 4
    assert facts["metadata"]["tokenizer.ggml.tokens"] == {"array": "STRING", "length": 500}
    assert facts["metadata"]["tokenizer.chat_template"].startswith("{% for m in messages %}")
    report = snapshot.inspection
    assert report["complete"] is True
    assert report["architecture"] == "llama" and report["context_length"] == 8192
    assert report["parameter_count"] == facts["parameter_count"] and report["dtypes"] == ["F16", "F32", "Q8_0"]
    assert report["weight_sets"][0]["file_type"] == "MOSTLY_Q8_0"


def test_malformed_gguf_recorded_and_preserved(model, staging_dir, dispatched, tmp_path):
    data = gguf_file(tmp_path / "m.gguf")
    header = bytearray(data)
    # Point the last tensor's data offset far past the end of the file (offset is the header's last u64).
    reader = gguf.GGUFReader(str(tmp_path / "m.gguf"))
    last = reader.tensors[-1]
    offset_at = last.field.offset + sum(len(p) * p.itemsize for p in last.field.parts) - 8
    header[offset_at : offset_at + 8] = struct.pack("<Q", 10**9)
    files = {"cut.gguf": data[:200], "wild.gguf": bytes(header), "junk.gguf": b"NOT A GGUF FILE AT ALL"}
    make_tree(staging_dir / "g", files)
    snapshot = ingest(model, staging_dir / "g")
    problems = {row.path: [p["code"] for p in row.problems] for row in SnapshotFile.objects.filter(snapshot=snapshot)}
    assert problems == {"cut.gguf": ["header_beyond_file"], "wild.gguf": ["offset_out_of_range"], "junk.gguf": ["invalid_magic"]}
    for row in SnapshotFile.objects.filter(snapshot=snapshot).select_related("blob"):
        assert stored_bytes(row) == files[row.path]
    assert snapshot.inspection["complete"] is False


def test_type_tables_match_the_gguf_package():
    for type_id, (name, block, size) in gguf_header.GGML_TYPES.items():
        quant = gguf.GGMLQuantizationType(type_id)
        assert quant.name == name and gguf.GGML_QUANT_SIZES[quant] == (block, size)
    for value, name in gguf_header.FILE_TYPES.items():
        assert gguf.LlamaFileType(value).name == name


# --- pickles are never opened ---------------------------------------------------------------------


class _Boom:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))  # would create the marker file if anything unpickled it


def test_pytorch_pickle_recorded_by_format_and_size_only(model, staging_dir, dispatched, tmp_path):
    marker = tmp_path / "unpickled"
    data = pickle.dumps({"weight": _Boom(str(marker))}, protocol=2)
    make_tree(staging_dir / "pt", {"pytorch_model.bin": data, "model.onnx": b"\x08\x07onnx"})
    snapshot = ingest(model, staging_dir / "pt")
    assert not marker.exists()
    rows = {r.path: r for r in SnapshotFile.objects.filter(snapshot=snapshot)}
    assert rows["pytorch_model.bin"].inspection == {"format": "pytorch", "size": len(data), "container": "pickle"}
    assert rows["model.onnx"].inspection == {"format": "onnx", "size": 6}
    assert snapshot.inspection["parameter_count"] is None and snapshot.inspection["complete"] is True
    model.refresh_from_db()
    assert model.parameter_count is None


# --- the model's parameter count and the audit's view ------------------------------------------------


def test_parameter_count_follows_snapshots_but_not_a_curators_figure(model, staging_dir, dispatched):
    make_tree(staging_dir / "v1", {"model.safetensors": safetensors_bytes({"w": np.zeros(10, dtype=np.float32)})})
    ingest(model, staging_dir / "v1")
    model.refresh_from_db()
    assert model.parameter_count == 10
    make_tree(staging_dir / "v2", {"model.safetensors": safetensors_bytes({"w": np.zeros(12, dtype=np.float32)})})
    ingest(model, staging_dir / "v2")
    model.refresh_from_db()
    assert model.parameter_count == 12  # still the figure inspection put there: follows the newest snapshot

    curated = AIModelFactory(provider=model.provider, name="curated", parameter_count=7_000_000_000)
    ingest(curated, staging_dir / "v1")
    curated.refresh_from_db()
    assert curated.parameter_count == 7_000_000_000


def test_snapshot_completeness_sees_a_lost_shard(model, staging_dir, dispatched):
    sharded_checkpoint(staging_dir / "ckpt")
    snapshot = ingest(model, staging_dir / "ckpt")
    assert inspection.snapshot_completeness(snapshot) == {"complete": True, "problems": [], "missing": []}

    shard = SnapshotFile.objects.get(snapshot=snapshot, path="model-00002-of-00002.safetensors")
    Replica.objects.filter(blob=shard.blob).update(state=Replica.State.MISSING)
    result = inspection.snapshot_completeness(snapshot)
    assert result["complete"] is False
    assert result["missing"] == ["model-00002-of-00002.safetensors"]
    assert [(p["code"], p["path"]) for p in result["problems"]] == [("missing_shard", "model-00002-of-00002.safetensors")]
    assert "no verified copy" in result["problems"][0]["message"]

    config = SnapshotFile.objects.get(snapshot=snapshot, path="README.md")
    Replica.objects.filter(blob=config.blob).update(state=Replica.State.CORRUPT)
    codes = [(p["code"], p["path"]) for p in inspection.snapshot_completeness(snapshot)["problems"]]
    assert ("missing_file", "README.md") in codes
    snapshot.refresh_from_db()
    assert snapshot.inspection["complete"] is True  # the sealed record is not rewritten by an audit


def test_parameter_count_matches_numpy_for_many_dtypes():
    arrays = {
        "f64": np.zeros((2, 3), dtype=np.float64),
        "f32": np.zeros((4, 5, 6), dtype=np.float32),
        "f16": np.zeros(7, dtype=np.float16),
        "i64": np.zeros((1, 9), dtype=np.int64),
        "i32": np.zeros(3, dtype=np.int32),
        "u8": np.zeros(11, dtype=np.uint8),
        "b": np.zeros(2, dtype=np.bool_),
        "scalar": np.array(3.0, dtype=np.float32),
        "empty": np.zeros((0, 4), dtype=np.float32),
    }
    data = save(arrays)
    inspector = FileInspector(path="x.safetensors", format="safetensors", size=len(data))
    inspector.feed(data)
    facts, problems = inspector.finish()
    assert problems == []
    assert facts["parameter_count"] == sum(a.size for a in arrays.values()) == 6 + 120 + 7 + 9 + 3 + 11 + 2 + 1 + 0
    assert facts["tensor_count"] == len(arrays)
    assert facts["parameters_by_dtype"]["F32"] == 120 + 1 + 0
    assert math.prod(facts["tensors"]["f32"]["shape"]) == 120


def test_a_bug_in_inspection_never_fails_ingest(model, staging_dir, dispatched, monkeypatch):
    from archive.inspection import safetensors_header
    from archive.inspection import services as inspection_services

    def broken(*args, **kwargs):
        raise RuntimeError("parser bug")

    monkeypatch.setattr(safetensors_header.SafetensorsInspector, "feed", broken)
    monkeypatch.setattr(inspection_services, "evaluate", broken)
    data = safetensors_bytes({"w": np.zeros(3, dtype=np.float32)})
    make_tree(staging_dir / "bug", {"model.safetensors": data})
    snapshot = ingest(model, staging_dir / "bug")
    assert snapshot.state == Snapshot.State.SEALED
    row = SnapshotFile.objects.select_related("blob").get(snapshot=snapshot)
    assert stored_bytes(row) == data
    assert [p["code"] for p in row.problems] == ["inspection_error"]
    assert snapshot.inspection["complete"] is False
    assert snapshot.inspection["problems"][0]["code"] == "inspection_error"
