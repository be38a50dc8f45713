"""safetensors: an 8-byte little-endian header length, a JSON header, then the tensor bytes.

Only the header is buffered (bounded); the rest of the file is counted as it streams past, which is
enough to check every tensor's offsets against the real data length."""

import json
import math

from archive.inspection.stream import Problems, StreamParser

# Bits per element of every dtype the safetensors format defines (sub-byte floats are packed).
DTYPE_BITS = {
    "BOOL": 8,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "F8_E4M3FNUZ": 8,
    "F8_E5M2FNUZ": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "C64": 64,
    "F64": 64,
    "I64": 64,
    "U64": 64,
}

MAX_PROBLEMS_PER_KIND = 20  # a corrupt header can yield one problem per tensor; keep the record readable


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")  # Python accepts NaN/Infinity; the format (and serde_json) does not


class SafetensorsInspector:
    """Observer: parses the header as ingest reads the file, validates offsets at the end."""

    def __init__(self, *, path: str, size: int | None, limit: int):
        self.problems = Problems(path)
        self.expected_size = size
        self.limit = limit
        self.header_size: int | None = None
        self.header: dict | None = None
        self.parser = StreamParser(self._parse, limit=limit + 8, problems=self.problems, on_limit=self._too_large)

    def _too_large(self, wanted: int) -> None:
        self.problems.add(
            "header_too_large",
            f"The header declares {self.header_size} bytes, more than the {self.limit}-byte limit for inspection.",
        )

    def _parse(self):
        length = int.from_bytes((yield 8), "little")
        self.header_size = length
        if self.expected_size is not None and length > self.expected_size - 8:
            self.problems.add(
                "header_length_beyond_file",
                f"The header length ({length} bytes) runs past the end of the file ({self.expected_size} bytes).",
            )
            return
        raw = yield length
        try:
            header = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
        except (UnicodeDecodeError, ValueError) as exc:
            self.problems.add("invalid_header_json", f"The header is not valid JSON: {exc}.")
            return
        if not isinstance(header, dict):
            self.problems.add("invalid_header_json", "The header is JSON but not an object.")
            return
        self.header = header

    def feed(self, data: bytes) -> None:
        self.parser.feed(data)

    def finish(self) -> dict:
        """The file's inspection; problems are in self.problems."""
        size = self.parser.bytes_seen
        truncated = self.parser.close()
        if truncated is not None:
            if self.header_size is None:
                self.problems.add("header_length_beyond_file", f"The file ({size} bytes) is too short for a header length.")
            elif not self.problems:
                self.problems.add(
                    "header_length_beyond_file",
                    f"The header length ({self.header_size} bytes) runs past the end of the file ({size} bytes).",
                )
        result = {"format": "safetensors", "size": size, "header_size": self.header_size}
        if self.header is None:
            return result
        data_length = size - 8 - self.header_size
        metadata = self.header.get("__metadata__")
        if metadata is not None and not (
            isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
        ):
            self.problems.add("invalid_metadata", "__metadata__ must map strings to strings.")
        tensors, by_dtype, parameters, tensor_bytes = {}, {}, 0, 0
        spans = []
        counts: dict[str, int] = {}

        def problem(code: str, message: str) -> None:
            counts[code] = counts.get(code, 0) + 1
            if counts[code] <= MAX_PROBLEMS_PER_KIND:
                self.problems.add(code, message)

        for name, entry in self.header.items():
            if name == "__metadata__":
                continue
            shape = entry.get("shape") if isinstance(entry, dict) else None
            dtype = entry.get("dtype") if isinstance(entry, dict) else None
            offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
            if not (
                isinstance(dtype, str)
                and isinstance(shape, list)
                and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
                and isinstance(offsets, list)
                and len(offsets) == 2
                and all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
            ):
                problem("invalid_tensor_entry", f"Tensor {name!r} needs a dtype, a shape of non-negative integers and two data_offsets.")
                continue
            begin, end = offsets
            numel = math.prod(shape)
            tensors[name] = {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}
            parameters += numel
            by_dtype[dtype] = by_dtype.get(dtype, 0) + numel
            bits = DTYPE_BITS.get(dtype)
            if bits is None:
                problem("unknown_dtype", f"Tensor {name!r} has dtype {dtype!r}, which safetensors does not define.")
            if begin < 0 or end < begin or end > data_length:
                problem(
                    "offset_out_of_range",
                    f"Tensor {name!r} has data_offsets [{begin}, {end}] outside the {data_length}-byte data section.",
                )
                continue
            tensor_bytes += end - begin
            if bits is not None and numel * bits != (end - begin) * 8:
                problem(
                    "size_mismatch",
                    f"Tensor {name!r} is {dtype} {shape}: {numel * bits / 8:g} bytes, but its offsets span {end - begin}.",
                )
            spans.append((begin, end, name))
        spans.sort()
        covered = 0
        previous = None
        for begin, end, name in spans:
            if begin < covered:
                problem("offsets_overlap", f"Tensor {name!r} [{begin}, {end}] overlaps tensor {previous!r}.")
            elif begin > covered:
                problem("offsets_gap", f"Bytes {covered}..{begin} of the data section belong to no tensor (before {name!r}).")
            if end > covered:
                covered, previous = end, name
        if covered < data_length and not counts.get("offset_out_of_range"):
            problem("offsets_gap", f"Bytes {covered}..{data_length} at the end of the data section belong to no tensor.")
        for code, count in counts.items():
            if count > MAX_PROBLEMS_PER_KIND:
                self.problems.add(code, f"…and {count - MAX_PROBLEMS_PER_KIND} more {code} problems.")
        result.update(
            {
                "tensor_count": len(tensors),
                "parameter_count": parameters,
                "parameters_by_dtype": dict(sorted(by_dtype.items())),
                "tensor_bytes": tensor_bytes,
                "metadata": metadata if isinstance(metadata, dict) else {},
                "tensors": tensors,
            }
        )
        return result
