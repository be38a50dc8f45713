"""Run a header parser over bytes as ingest streams them past, without a second read of the file.

A parser is a generator: it yields the number of bytes it wants next and receives exactly that many.
`StreamParser` buffers only what the parser has asked for (plus the tail of the current chunk), stops
buffering once the parser returns, and never lets an exception escape into ingest: a parser failure
becomes a problem, and the bytes are preserved all the same."""

import logging
from collections.abc import Callable, Generator

logger = logging.getLogger(__name__)

ParserGen = Generator[int, bytes, None]


class Problems:
    """Inspection problems for one file: {code, path, message} dicts, in the order found."""

    def __init__(self, path: str):
        self.path = path
        self.items: list[dict] = []

    def add(self, code: str, message: str, **detail) -> None:
        self.items.append({"code": code, "path": self.path, "message": message, **detail})

    def __bool__(self) -> bool:
        return bool(self.items)


class Truncated(Exception):
    """The stream ended before the parser got the bytes it asked for."""

    def __init__(self, wanted: int, available: int):
        super().__init__(f"wanted {wanted} more bytes, the file ends after {available}")
        self.wanted, self.available = wanted, available


class StreamParser:
    """Feeds a generator parser from the chunks ingest reads; memory bounded by `limit` bytes of header."""

    def __init__(self, parser: Callable[[], ParserGen], *, limit: int, problems: Problems, on_limit: Callable[[int], None]):
        self.bytes_seen = 0
        self.consumed = 0  # bytes handed to the parser so far
        self.done = False
        self._limit = limit
        self._problems = problems
        self._on_limit = on_limit
        self._buffer = bytearray()
        self._gen = parser()
        self._want = self._step(None)

    def _step(self, data: bytes | None) -> int:
        try:
            want = next(self._gen) if data is None else self._gen.send(data)
        except StopIteration:
            self._finish_parsing()
            return 0
        except Exception as exc:  # a parser bug must never fail an ingest
            logger.exception("inspection parser failed on %s", self._problems.path)
            self._problems.add("inspection_error", f"The header could not be inspected: {exc}.")
            self._finish_parsing()
            return 0
        if want < 0 or self.consumed + want > self._limit:
            self._on_limit(self.consumed + want)
            self._gen.close()
            self._finish_parsing()
            return 0
        return want

    def _finish_parsing(self) -> None:
        self.done = True
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        self.bytes_seen += len(data)
        if self.done:
            return
        view = memoryview(data)
        start = 0
        # Serve wants straight from the chunk when the buffer is empty; buffer only the remainder.
        while not self.done:
            if self._buffer:
                need = self._want - len(self._buffer)
                take = view[start : start + need]
                self._buffer += take
                start += len(take)
                if len(self._buffer) < self._want:
                    return
                piece, self._buffer = bytes(self._buffer), bytearray()
            elif len(view) - start >= self._want:
                piece = bytes(view[start : start + self._want])
                start += self._want
            else:
                self._buffer += view[start:]
                return
            self.consumed += len(piece)
            self._want = self._step(piece)

    def close(self) -> Truncated | None:
        """Tell the parser the stream has ended; returns Truncated if it was still waiting for bytes."""
        if self.done:
            return None
        truncated = Truncated(self._want, len(self._buffer))
        self._gen.close()
        self._finish_parsing()
        return truncated
