"""What a harvester may send to /oai: the verbs and their arguments, dates, and resumption tokens. Every value is
checked here before the view looks anything up or echoes it into the answer, so a hostile request is an OAI error
(badVerb, badArgument, badResumptionToken), never a 500 or an answer that is not well-formed XML."""

import re
from datetime import datetime, timezone as dt_timezone

from django.core import signing

from core.text import text_problem

OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
FORMATS = {
    "oai_dc": (OAI_DC, "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"),
    "oai_datacite": ("http://datacite.org/schema/kernel-4", "http://schema.datacite.org/meta/kernel-4.5/metadata.xsd"),
}
ARGUMENTS = {  # verb -> (required, optional, exclusive)
    "Identify": (set(), set(), None),
    "ListMetadataFormats": (set(), {"identifier"}, None),
    "ListSets": (set(), set(), "resumptionToken"),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set"}, "resumptionToken"),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set"}, "resumptionToken"),
    "GetRecord": ({"identifier", "metadataPrefix"}, set(), None),
}
PAGED_VERBS = ("ListIdentifiers", "ListRecords")
DATES = (
    (re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\Z"), "%Y-%m-%dT%H:%M:%SZ", "seconds"),
    (re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"), "%Y-%m-%d", "day"),
)
# Resumption tokens are signed: a harvester hands back what it was given, and anything else is refused unread.
TOKEN_SALT = "coda.oai.resumptionToken"
TOKEN_KEYS = {"verb", "prefix", "from", "until", "set", "after"}
MAX_TOKEN_TEXT = 300  # longer than any repo_key (265) or set spec Coda issues


class OAIError(Exception):
    """An OAI-PMH error condition (§3.6): its code and a message for the <error> element."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def xml_safe(value: str) -> bool:
    """Coda's one rule for text (core.text): nothing XML 1.0 cannot carry (NUL, other C0 controls, lone
    surrogates, U+FFFE, U+FFFF), nor DEL and the C1 controls."""
    return text_problem(value) is None


def parse_date(raw: str, *, end: bool) -> tuple[datetime, str]:
    """A UTC datestamp of either granularity (ASCII digits only; strptime alone accepts other scripts' digits)."""
    for pattern, fmt, granularity in DATES:
        if not pattern.match(raw):
            continue
        try:
            moment = datetime.strptime(raw, fmt).replace(tzinfo=dt_timezone.utc)
        except ValueError:
            break
        if granularity == "day" and end:
            moment = moment.replace(hour=23, minute=59, second=59, microsecond=999999)
        return moment, granularity
    raise OAIError("badArgument", f"Not a UTC date of this repository's granularity: {raw!r}.")


def check_arguments(query) -> tuple[str, dict]:
    """The verb and its arguments from a GET query or a POST body (a QueryDict), or badVerb / badArgument."""
    verbs = query.getlist("verb")
    if len(verbs) != 1 or verbs[0] not in ARGUMENTS:
        raise OAIError("badVerb", "Missing, repeated or unknown verb.")
    verb = verbs[0]
    for key, values in query.lists():
        for text in (key, *values):
            if problem := text_problem(text):
                raise OAIError("badArgument", f"An argument {problem}.")
    required, optional, exclusive = ARGUMENTS[verb]
    args = {key: query.get(key) for key in query if key != "verb"}
    if any(len(query.getlist(key)) > 1 for key in args):
        raise OAIError("badArgument", "An argument is repeated.")
    if exclusive and exclusive in args:
        if len(args) > 1:
            raise OAIError("badArgument", f"{exclusive} is an exclusive argument.")
        return verb, args
    unknown = set(args) - required - optional
    missing = required - set(args)
    if unknown or missing:
        raise OAIError("badArgument", f"Unknown arguments {sorted(unknown)}; missing {sorted(missing)}.")
    return verb, args


def token_encode(state: dict) -> str:
    """A resumption token for the next page of a list: the list's arguments and the last key sent, signed."""
    return signing.dumps(state, salt=TOKEN_SALT)


def token_decode(token: str, *, verb: str) -> dict:
    """The state a token of this verb was issued with; badResumptionToken for anything this repository did not
    issue, or issued for another verb."""
    try:
        state = signing.loads(token, salt=TOKEN_SALT)
        _check_state(state, verb=verb)
    except (signing.BadSignature, ValueError, OAIError):
        raise OAIError("badResumptionToken", "This resumption token is not valid.") from None
    return state


def _text(value, *, optional: bool) -> bool:
    if value is None:
        return optional
    return isinstance(value, str) and len(value) <= MAX_TOKEN_TEXT and xml_safe(value)


def _check_state(state, *, verb: str) -> None:
    """Strict shape even under a valid signature (a key that leaked, a token of an older format)."""
    if not isinstance(state, dict) or set(state) != TOKEN_KEYS:
        raise ValueError("token keys")
    if state["verb"] != verb or verb not in PAGED_VERBS or not isinstance(state["prefix"], str) or state["prefix"] not in FORMATS:
        raise ValueError("token verb or prefix")
    if not _text(state["after"], optional=False) or not state["after"]:
        raise ValueError("token position")
    if not _text(state["set"], optional=True):
        raise ValueError("token set")
    granularities = set()
    for key, end in (("from", False), ("until", True)):
        if not _text(state[key], optional=True):
            raise ValueError(f"token {key}")
        if state[key] is not None:
            granularities.add(parse_date(state[key], end=end)[1])
    if len(granularities) > 1:
        raise ValueError("token granularity")
