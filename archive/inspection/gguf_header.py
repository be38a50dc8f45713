"""GGUF (llama.cpp): magic, version, tensor and key/value counts, typed key/values, tensor infos.

Parsed incrementally from the ingest stream following the published format (ggml docs/gguf.md);
nothing beyond the header is kept. Large arrays (the tokenizer vocabulary) are walked, not stored."""

import math
import struct

from archive.inspection.stream import Problems, StreamParser

# ggml tensor types: id -> (name, elements per block, bytes per block), as published in ggml.h / gguf.
GGML_TYPES = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20), 6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 40), 10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74), 18: ("IQ3_XXS", 256, 98), 19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110), 22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1), 25: ("I16", 1, 2), 26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56), 30: ("BF16", 1, 2), 34: ("TQ1_0", 256, 54), 35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17),
}

# general.file_type (llama_ftype): the quantisation the file was made with.
FILE_TYPES = {
    0: "ALL_F32", 1: "MOSTLY_F16", 2: "MOSTLY_Q4_0", 3: "MOSTLY_Q4_1", 7: "MOSTLY_Q8_0", 8: "MOSTLY_Q5_0",
    9: "MOSTLY_Q5_1", 10: "MOSTLY_Q2_K", 11: "MOSTLY_Q3_K_S", 12: "MOSTLY_Q3_K_M", 13: "MOSTLY_Q3_K_L",
    14: "MOSTLY_Q4_K_S", 15: "MOSTLY_Q4_K_M", 16: "MOSTLY_Q5_K_S", 17: "MOSTLY_Q5_K_M", 18: "MOSTLY_Q6_K",
    19: "MOSTLY_IQ2_XXS", 20: "MOSTLY_IQ2_XS", 21: "MOSTLY_Q2_K_S", 22: "MOSTLY_IQ3_XS", 23: "MOSTLY_IQ3_XXS",
    24: "MOSTLY_IQ1_S", 25: "MOSTLY_IQ4_NL", 26: "MOSTLY_IQ3_S", 27: "MOSTLY_IQ3_M", 28: "MOSTLY_IQ2_S",
    29: "MOSTLY_IQ2_M", 30: "MOSTLY_IQ4_XS", 31: "MOSTLY_IQ1_M", 32: "MOSTLY_BF16", 36: "MOSTLY_TQ1_0",
    37: "MOSTLY_TQ2_0", 38: "MOSTLY_MXFP4_MOE",
}

# value type id -> (name, struct code or None for string/array)
VALUE_TYPES = {
    0: ("UINT8", "B"), 1: ("INT8", "b"), 2: ("UINT16", "H"), 3: ("INT16", "h"), 4: ("UINT32", "I"),
    5: ("INT32", "i"), 6: ("FLOAT32", "f"), 7: ("BOOL", "?"), 8: ("STRING", None), 9: ("ARRAY", None),
    10: ("UINT64", "Q"), 11: ("INT64", "q"), 12: ("FLOAT64", "d"),
}
STRING, ARRAY = 8, 9
DEFAULT_ALIGNMENT = 32
MAX_STORED_STRING = 4096  # chat templates are long; the record keeps their start
MAX_STORED_ARRAY = 16  # short arrays (e.g. per-layer head counts) are kept, vocabularies are not
HYPERPARAMETERS = (
    "context_length", "embedding_length", "block_count", "feed_forward_length",
    "attention.head_count", "attention.head_count_kv", "vocab_size", "expert_count", "expert_used_count",
)


class GGUFFormatError(Exception):
    pass


class GGUFInspector:
    """Observer: walks the GGUF header as ingest reads the file; tensor extents are checked at the end."""

    def __init__(self, *, path: str, size: int | None, limit: int):
        self.problems = Problems(path)
        self.limit = limit
        self.version: int | None = None
        self.metadata: dict = {}
        self.tensors: list[tuple[str, list[int], int, int]] = []  # name, dims, type id, offset
        self.tensor_count = self.kv_count = None
        self.header_end: int | None = None
        self.parser = StreamParser(self._parse, limit=limit, problems=self.problems, on_limit=self._too_large)

    def _too_large(self, wanted: int) -> None:
        self.problems.add("header_too_large", f"The GGUF header needs more than the {self.limit}-byte limit for inspection.")

    def _parse(self):
        magic = yield 4
        if magic != b"GGUF":
            self.problems.add("invalid_magic", f"The file does not start with the GGUF magic (found {magic!r}).")
            return
        raw = yield 4
        endian = "<"
        version = struct.unpack("<I", raw)[0]
        if version & 0xFFFF == 0:  # written on a big-endian host
            endian, version = ">", struct.unpack(">I", raw)[0]
        self.version = version
        if version not in (2, 3):
            self.problems.add("unsupported_version", f"GGUF version {version} is not supported (2 and 3 are).")
            return

        def scalar(code):
            size = struct.calcsize(code)
            return struct.unpack(endian + code, (yield size))[0]

        def string():
            length = yield from scalar("Q")
            return (yield length).decode("utf-8", errors="replace")

        def value(type_id, keep=True):
            if type_id == STRING:
                text = yield from string()
                return text[:MAX_STORED_STRING] if keep else None
            if type_id == ARRAY:
                item_type = yield from scalar("I")
                count = yield from scalar("Q")
                if item_type not in VALUE_TYPES:
                    raise GGUFFormatError(f"unknown array item type {item_type}")
                code = VALUE_TYPES[item_type][1]
                small = count <= MAX_STORED_ARRAY
                if code is not None:  # fixed-size items: one read for the whole array
                    data = yield count * struct.calcsize(code)
                    if keep and small:
                        return list(struct.unpack(f"{endian}{count}{code}", data))
                else:
                    items = []
                    for _ in range(count):
                        item = yield from value(item_type, keep=keep and small)
                        if keep and small:
                            items.append(item)
                    if keep and small:
                        return items
                return {"array": VALUE_TYPES[item_type][0], "length": count}
            if type_id not in VALUE_TYPES:
                raise GGUFFormatError(f"unknown value type {type_id}")
            return (yield from scalar(VALUE_TYPES[type_id][1]))

        try:
            self.tensor_count = yield from scalar("Q")
            self.kv_count = yield from scalar("Q")
            for _ in range(self.kv_count):
                key = yield from string()
                type_id = yield from scalar("I")
                self.metadata[key] = yield from value(type_id)
            for _ in range(self.tensor_count):
                name = yield from string()
                n_dims = yield from scalar("I")
                if n_dims > 8:
                    raise GGUFFormatError(f"tensor {name!r} claims {n_dims} dimensions")
                dims = []
                for _ in range(n_dims):
                    dims.append((yield from scalar("Q")))
                type_id = yield from scalar("I")
                offset = yield from scalar("Q")
                self.tensors.append((name, dims, type_id, offset))
        except GGUFFormatError as exc:
            self.problems.add("invalid_header", f"The GGUF header is malformed: {exc}.")
            return
        self.header_end = self.parser.consumed

    def feed(self, data: bytes) -> None:
        self.parser.feed(data)

    def finish(self) -> dict:
        size = self.parser.bytes_seen
        truncated = self.parser.close()
        if truncated is not None:
            self.problems.add("header_beyond_file", f"The GGUF header runs past the end of the file ({size} bytes).")
        result = {"format": "gguf", "size": size, "version": self.version}
        if self.header_end is None:
            return result
        meta = self.metadata
        arch = meta.get("general.architecture")
        alignment = meta.get("general.alignment", DEFAULT_ALIGNMENT)
        if not isinstance(alignment, int) or alignment <= 0 or alignment % 8:
            self.problems.add("invalid_alignment", f"general.alignment {alignment!r} is not a positive multiple of 8.")
            alignment = DEFAULT_ALIGNMENT
        data_start = -(-self.header_end // alignment) * alignment
        data_length = size - data_start
        by_type: dict[str, int] = {}
        parameters = 0
        spans = []
        for name, dims, type_id, offset in self.tensors:
            numel = math.prod(dims)
            parameters += numel
            known = GGML_TYPES.get(type_id)
            type_name = known[0] if known else f"type_{type_id}"
            by_type[type_name] = by_type.get(type_name, 0) + numel
            if known is None:
                self.problems.add("unknown_dtype", f"Tensor {name!r} has ggml type {type_id}, which is not known.")
                continue
            _, block, type_size = known
            if numel % block:
                self.problems.add("size_mismatch", f"Tensor {name!r} has {numel} elements, not a multiple of the {type_name} block ({block}).")
                continue
            nbytes = numel // block * type_size
            if offset % alignment:
                self.problems.add("misaligned_offset", f"Tensor {name!r} starts at offset {offset}, not a multiple of {alignment}.")
            if offset + nbytes > data_length:
                self.problems.add(
                    "offset_out_of_range",
                    f"Tensor {name!r} [{offset}, {offset + nbytes}] runs past the {data_length}-byte data section.",
                )
                continue
            spans.append((offset, offset + nbytes, name))
        spans.sort()
        end, previous = 0, None
        for begin, stop, name in spans:
            if begin < end:
                self.problems.add("offsets_overlap", f"Tensor {name!r} [{begin}, {stop}] overlaps tensor {previous!r}.")
            if stop > end:
                end, previous = stop, name
        file_type = meta.get("general.file_type")
        result.update(
            {
                "architecture": arch,
                "name": meta.get("general.name"),
                "context_length": meta.get(f"{arch}.context_length") if arch else None,
                "file_type": file_type,
                "file_type_name": FILE_TYPES.get(file_type) if isinstance(file_type, int) else None,
                "quantization_version": meta.get("general.quantization_version"),
                "hyperparameters": {k: meta[f"{arch}.{k}"] for k in HYPERPARAMETERS if arch and f"{arch}.{k}" in meta},
                "split": {"no": meta.get("split.no"), "count": meta.get("split.count")} if "split.count" in meta else None,
                "tensor_count": self.tensor_count,
                "parameter_count": parameters,
                "parameters_by_dtype": dict(sorted(by_type.items())),
                "alignment": alignment,
                "header_size": self.header_end,
                "metadata": meta,
            }
        )
        return result
