"""The two interview file formats (JSON and Markdown, `docs/interview-formats.md`): parse an untrusted file
into a document dict, and write a document back in canonical form. A document is what
`services.interview_create_from_document` takes and `services.interview_document` gives."""

import json
import re
from datetime import date

from dossier.exceptions import TranscriptFormatError
from dossier.models import RequestCategory, ResponseStatus, Speaker

FORMAT = "coda-interview/1"
TOP_KEYS = [
    "format",
    "model",
    "protocol",
    "revision",
    "conducted_on",
    "interviewers",
    "restricted",
    "summary_restricted",
    "summary",
    "turns",
    "requests",
]
TURN_KEYS = ["index", "speaker", "speaker_name", "text"]
REQUEST_KEYS = ["turn", "category", "summary", "restricted", "quote", "response"]
RESPONSE_KEYS = ["status", "rationale", "responded_by", "responded_on", "due_on", "fulfilled_on"]
RESPONSE_DATES = ["responded_on", "due_on", "fulfilled_on"]


def _fail(message: str, line: int | None = None):
    raise TranscriptFormatError(f"line {line}: {message}" if line else message)


def _date(value, where: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        _fail(f"{where}: {value!r} is not a date (YYYY-MM-DD).")


def _bool(value, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    _fail(f"{where}: expected true or false, got {value!r}.")


def _unknown(data: dict, allowed: list[str], where: str) -> None:
    extra = sorted(set(data) - set(allowed))
    if extra:
        _fail(f"{where}: unknown key(s) {', '.join(extra)}; allowed: {', '.join(allowed)}.")


def normalise(raw: dict) -> dict:
    """Check an untrusted document's shape and return it with every key in canonical order."""
    if not isinstance(raw, dict):
        _fail("the document must be a JSON object.")
    _unknown(raw, TOP_KEYS, "interview")
    if raw.get("format", FORMAT) != FORMAT:
        _fail(f"format must be {FORMAT!r}, got {raw.get('format')!r}.")
    for key in ("protocol", "conducted_on"):
        if not raw.get(key):
            _fail(f"interview: {key} is required.")
    interviewers = raw.get("interviewers") or []
    if not isinstance(interviewers, list) or not all(isinstance(i, str) and i.strip() for i in interviewers):
        _fail("interview: interviewers must be a list of names.")
    turns = raw.get("turns") or []
    if not isinstance(turns, list):
        _fail("interview: turns must be a list.")
    doc = {
        "format": FORMAT,
        "model": str(raw.get("model") or "") or None,
        "protocol": str(raw["protocol"]),
        "revision": str(raw.get("revision") or "") or None,
        "conducted_on": _date(raw["conducted_on"], "conducted_on"),
        "interviewers": [i.strip() for i in interviewers],
        "restricted": _bool(raw.get("restricted", False), "restricted"),
        "summary_restricted": _bool(raw.get("summary_restricted", False), "summary_restricted"),
        "summary": str(raw.get("summary") or "").strip(),
        "turns": [_turn(t, position) for position, t in enumerate(turns, start=1)],
        "requests": [_request(r, position) for position, r in enumerate(raw.get("requests") or [], start=1)],
    }
    return doc


def _turn(raw, position: int) -> dict:
    where = f"turn {position}"
    if not isinstance(raw, dict):
        _fail(f"{where}: must be an object.")
    _unknown(raw, TURN_KEYS, where)
    if raw.get("speaker") not in Speaker.values:
        _fail(f"{where}: speaker must be one of {', '.join(Speaker.values)}, got {raw.get('speaker')!r}.")
    text = str(raw.get("text") or "").strip()
    if not text:
        _fail(f"{where}: text is empty.")
    index = raw.get("index", position)
    if not isinstance(index, int) or isinstance(index, bool):
        _fail(f"{where}: index must be an integer.")
    turn = {"index": index, "speaker": raw["speaker"], "text": text}
    if raw.get("speaker_name"):
        turn = {"index": index, "speaker": raw["speaker"], "speaker_name": str(raw["speaker_name"]).strip(), "text": text}
    return turn


def _request(raw, position: int) -> dict:
    where = f"request {position}"
    if not isinstance(raw, dict):
        _fail(f"{where}: must be an object.")
    _unknown(raw, REQUEST_KEYS, where)
    if raw.get("category") not in RequestCategory.values:
        _fail(f"{where}: category must be one of {', '.join(RequestCategory.values)}.")
    turn = raw.get("turn")
    if turn in (None, "") or isinstance(turn, bool):
        _fail(f"{where}: it quotes no turn; give the index of the turn it comes from in 'turn'.")
    try:
        turn = int(turn)
    except (TypeError, ValueError):
        _fail(f"{where}: turn must be a turn index, got {turn!r}.")
    response = raw.get("response") or {}
    if not isinstance(response, dict):
        _fail(f"{where}: response must be an object.")
    _unknown(response, RESPONSE_KEYS, f"{where} response")
    status = response.get("status") or ResponseStatus.PENDING
    if status not in ResponseStatus.values:
        _fail(f"{where}: response status must be one of {', '.join(ResponseStatus.values)}.")
    return {
        "turn": turn,
        "category": raw["category"],
        "summary": str(raw.get("summary") or "").strip(),
        "restricted": _bool(raw.get("restricted", False), f"{where} restricted"),
        "quote": str(raw.get("quote") or "").strip(),
        "response": {
            "status": str(status),
            "rationale": str(response.get("rationale") or "").strip(),
            "responded_by": str(response.get("responded_by") or "").strip(),
            **{key: _date(response.get(key), f"{where} {key}") for key in RESPONSE_DATES},
        },
    }


# --- JSON ---------------------------------------------------------------------------------------


def parse_json(text: str) -> dict:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"not valid JSON: {exc.msg}", exc.lineno)
    return normalise(raw)


def dump_json(doc: dict) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# --- Markdown -----------------------------------------------------------------------------------
# Headings structure the file; a content line that starts with '#' is written with one more leading
# backslash ('\#', '\\#' …), and reading removes one, so any text round-trips.

ESCAPED_RE = re.compile(r"^(\\*)#")
HEADING_RE = re.compile(r"^(#{1,3}) (.*)$")
TURN_HEADING_RE = re.compile(r"^(\d+) · (interviewer|model|note)(?: · (.+))?$")
REQUEST_HEADING_RE = re.compile(r"^Request (\d+)$")
FIELD_RE = re.compile(r"^([a-z_]+):(?: (.*))?$")
FRONT_KEYS = ["format", "model", "protocol", "revision", "conducted_on", "interviewer", "restricted", "summary_restricted"]
REQUEST_FIELDS = ["turn", "category", "summary", "restricted"] + [k for k in RESPONSE_KEYS if k != "rationale"]


def _escape(text: str) -> str:
    return "\n".join(ESCAPED_RE.sub(r"\\\1#", line) for line in text.split("\n"))


def _unescape(lines: list[str]) -> str:
    return "\n".join(line[1:] if ESCAPED_RE.match(line) and line.startswith("\\") else line for line in lines).strip()


def dump_markdown(doc: dict) -> str:
    out = ["---", f"format: {doc['format']}"]
    for key in FRONT_KEYS[1:]:
        if key == "interviewer":
            out += [f"interviewer: {name}" for name in doc["interviewers"]]
            continue
        value = doc[key]
        value = ("true" if value else "false") if isinstance(value, bool) else (value or "")
        out.append(f"{key}: {value}".rstrip())
    out += ["---", "", "# Summary", ""]
    if doc["summary"]:
        out += [_escape(doc["summary"]), ""]
    out += ["# Transcript", ""]
    for turn in doc["turns"]:
        name = f" · {turn['speaker_name']}" if turn.get("speaker_name") else ""
        out += [f"## {turn['index']} · {turn['speaker']}{name}", "", _escape(turn["text"]), ""]
    if doc["requests"]:
        out += ["# Requests", ""]
    for number, request in enumerate(doc["requests"], start=1):
        out += [f"## Request {number}", ""]
        fields = {**request, **request["response"]}
        for key in REQUEST_FIELDS:
            value = fields[key]
            value = ("true" if value else "false") if isinstance(value, bool) else ("" if value is None else value)
            out.append(f"{key}: {value}".rstrip())
        out += ["", "### Quote", "", _escape(request["quote"]), ""]
        if request["response"]["rationale"]:
            out += ["### Rationale", "", _escape(request["response"]["rationale"]), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _sections(lines: list[str], start: int) -> list[tuple[int, str, int, list[str]]]:
    """(level, title, line number, body lines) for each heading, in order."""
    sections: list[tuple[int, str, int, list[str]]] = []
    for number, line in enumerate(lines[start:], start=start + 1):
        match = HEADING_RE.match(line)
        if match:
            sections.append((len(match.group(1)), match.group(2).strip(), number, []))
        elif line.startswith("#"):
            _fail("a heading needs a space after '#' (write '\\#' for a line of text that starts with '#').", number)
        elif sections:
            sections[-1][3].append(line)
        elif line.strip():
            _fail("text before the first heading.", number)
    return sections


def _fields(body: list[str], first_line: int, allowed: list[str], repeated=()) -> dict:
    values: dict = {}
    for offset, line in enumerate(body):
        if not line.strip():
            continue
        match = FIELD_RE.match(line)
        if not match or match.group(1) not in allowed:
            _fail(f"expected 'key: value' with key one of {', '.join(allowed)}, got {line!r}.", first_line + offset)
        key, value = match.group(1), (match.group(2) or "").strip()
        if key in repeated:
            values.setdefault(key, []).append(value)
        elif key in values:
            _fail(f"{key} given twice.", first_line + offset)
        else:
            values[key] = value
    return values


def parse_markdown(text: str) -> dict:
    lines = text.replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip() != "---":
        _fail("the file must start with a '---' front matter block.", 1)
    try:
        end = next(i for i, line in enumerate(lines[1:], start=1) if line.strip() == "---")
    except StopIteration:
        _fail("the front matter is not closed with '---'.", 1)
    front = _fields(lines[1:end], 2, FRONT_KEYS, repeated=("interviewer",))
    raw: dict = {key: value for key, value in front.items() if key != "interviewer"}
    raw["interviewers"] = front.get("interviewer", [])
    raw["turns"], raw["requests"] = [], []
    top = None
    current_request: dict | None = None
    for level, title, number, body in _sections(lines, end + 1):
        if level == 1:
            if title not in ("Summary", "Transcript", "Requests"):
                _fail(f"unknown section {title!r}; expected Summary, Transcript or Requests.", number)
            top = title
            if title == "Summary":
                raw["summary"] = _unescape(body)
            elif _unescape(body):
                _fail(f"text directly under '# {title}'; put it under a '##' heading.", number + 1)
        elif level == 2 and top == "Transcript":
            match = TURN_HEADING_RE.match(title)
            if not match:
                _fail(f"a turn heading looks like '## 3 · model' or '## 1 · interviewer · Name', got {title!r}.", number)
            turn = {"index": int(match.group(1)), "speaker": match.group(2), "text": _unescape(body)}
            if match.group(3):
                turn["speaker_name"] = match.group(3).strip()
            raw["turns"].append(turn)
        elif level == 2 and top == "Requests":
            if not REQUEST_HEADING_RE.match(title):
                _fail(f"a request heading looks like '## Request 1', got {title!r}.", number)
            fields = _fields(body, number + 1, REQUEST_FIELDS)
            current_request = {
                "turn": fields.get("turn"),
                "category": fields.get("category"),
                "summary": fields.get("summary", ""),
                "restricted": fields.get("restricted", "false"),
                "quote": "",
                "response": {key: fields.get(key) for key in RESPONSE_KEYS if key != "rationale"},
            }
            raw["requests"].append(current_request)
        elif level == 3 and current_request is not None and title in ("Quote", "Rationale"):
            if title == "Quote":
                current_request["quote"] = _unescape(body)
            else:
                current_request["response"]["rationale"] = _unescape(body)
        else:
            _fail(f"unexpected heading {'#' * level} {title!r} here.", number)
    return normalise(raw)


def parse(text: str, *, fmt: str) -> dict:
    """Parse a file's text in `json` or `markdown` format."""
    if fmt == "json":
        return parse_json(text)
    if fmt in ("markdown", "md"):
        return parse_markdown(text)
    _fail(f"unknown format {fmt!r}; use json or markdown.")


def detect_format(filename: str, text: str) -> str:
    """By extension, else by the first character."""
    lower = filename.lower()
    if lower.endswith(".json"):
        return "json"
    if lower.endswith((".md", ".markdown")):
        return "markdown"
    return "json" if text.lstrip().startswith("{") else "markdown"


def dump(doc: dict, *, fmt: str) -> str:
    return dump_json(doc) if fmt == "json" else dump_markdown(doc)
