"""Small JSON files researchers look at first: config.json, generation_config.json, tokenizer_config.json
and sharded-checkpoint indexes (*.index.json). Buffered up to a cap as they stream past, then the few
fields that matter are kept."""

import json
from pathlib import PurePosixPath

from archive.inspection.stream import Problems

# Field name -> older or family-specific spellings found in config.json files.
CONFIG_FIELDS = {
    "architectures": (),
    "model_type": (),
    "hidden_size": ("d_model", "n_embd", "dim"),
    "num_hidden_layers": ("n_layer", "num_layers", "n_layers"),
    "num_attention_heads": ("n_head", "num_heads", "n_heads"),
    "num_key_value_heads": ("n_kv_heads",),
    "intermediate_size": ("ffn_dim", "n_inner"),
    "vocab_size": ("n_vocab",),
    "torch_dtype": ("dtype",),
    "max_position_embeddings": ("n_positions", "max_sequence_length", "seq_length", "n_ctx"),
    "num_local_experts": ("num_experts", "n_routed_experts"),
    "transformers_version": (),
}
GENERATION_FIELDS = (
    "bos_token_id", "eos_token_id", "pad_token_id", "max_length", "max_new_tokens",
    "do_sample", "temperature", "top_p", "top_k", "repetition_penalty",
)
TOKENIZER_FIELDS = ("tokenizer_class", "model_max_length", "bos_token", "eos_token", "pad_token", "unk_token", "padding_side")


def json_role(path: str) -> str | None:
    """Which of the captured JSON files this is, by name; None for any other file."""
    name = PurePosixPath(path).name.lower()
    if name.endswith(".index.json"):
        return "index"
    return {"config.json": "config", "generation_config.json": "generation_config", "tokenizer_config.json": "tokenizer_config"}.get(name)


def _scalar_or_short(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value[:200] if isinstance(value, str) else value
    if isinstance(value, list) and len(value) <= 16 and all(isinstance(v, (str, int, float, bool)) for v in value):
        return value
    if isinstance(value, dict) and "content" in value:  # AddedToken serialised as a dict
        return _scalar_or_short(value["content"])
    return None


def config_fields(config: dict) -> dict:
    """The headline fields of a transformers config; multimodal configs are looked into (text_config)."""
    nested = [config] + [config[k] for k in ("text_config", "llm_config", "language_config") if isinstance(config.get(k), dict)]
    fields = {}
    for field, aliases in CONFIG_FIELDS.items():
        for source in nested:
            found = next((source[k] for k in (field, *aliases) if k in source), None)
            if found is not None:
                fields[field] = _scalar_or_short(found)
                break
    return fields


class JsonInspector:
    """Observer: keeps the first `limit` bytes of a small JSON file and extracts its fields at the end."""

    def __init__(self, *, path: str, role: str, limit: int):
        self.problems = Problems(path)
        self.role, self.limit = role, limit
        self.buffer = bytearray()
        self.size = 0

    def feed(self, data: bytes) -> None:
        self.size += len(data)
        if self.size <= self.limit:
            self.buffer += data
        else:
            self.buffer = bytearray()

    def finish(self) -> dict:
        result = {"format": "json", "size": self.size, "role": self.role}
        if self.size > self.limit:
            self.problems.add("too_large_to_inspect", f"{self.size} bytes is more than the {self.limit}-byte limit for JSON inspection.")
            return result
        try:
            document = json.loads(bytes(self.buffer).decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError) as exc:
            self.problems.add("invalid_json", f"The file is not valid JSON: {exc}.")
            return result
        finally:
            self.buffer = bytearray()
        if not isinstance(document, dict):
            self.problems.add("invalid_json", "The file is JSON but not an object.")
            return result
        if self.role == "config":
            result["config"] = config_fields(document)
        elif self.role == "generation_config":
            result["generation_config"] = {k: _scalar_or_short(document[k]) for k in GENERATION_FIELDS if k in document}
        elif self.role == "tokenizer_config":
            fields = {k: _scalar_or_short(document[k]) for k in TOKENIZER_FIELDS if k in document}
            fields["has_chat_template"] = bool(document.get("chat_template"))
            if isinstance(document.get("added_tokens_decoder"), dict):
                fields["added_tokens"] = len(document["added_tokens_decoder"])
            result["tokenizer_config"] = fields
        elif self.role == "index":
            weight_map = document.get("weight_map")
            metadata = document.get("metadata")
            if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
                self.problems.add("invalid_index", "The index has no weight_map of tensor names to shard files.")
                return result
            result["index"] = {
                "metadata": metadata if isinstance(metadata, dict) else {},
                "shards": sorted(set(weight_map.values())),
                "weight_map": weight_map,
            }
        return result
