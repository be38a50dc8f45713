"""Free text that curators enter: which characters it may hold, and the one guard that enforces it on every save.

Text reaches formats that cannot carry every character: XML 1.0 (DataCite, OAI-PMH, Atom) forbids C0 controls
other than tab, CR and LF, lone surrogates, U+FFFE and U+FFFF; YAML (CITATION.cff) and iCalendar refuse controls
too. Coda therefore refuses those characters, and the C1 controls (U+0080-U+009F, invisible and never meant), at
every input that stores free text, and its writers drop them from whatever was stored before (`clean_text`).

A model field opts in by carrying `validate_text` among its validators: forms (the admin) and DRF model
serializers then refuse the value with a message naming the field, and `text_guard` (a pre_save hook registered
by `CoreConfig.ready`) refuses it on every other path (import commands, bag and interview imports, services)
before anything is written."""

import functools
import re
import unicodedata

from django.core.exceptions import ValidationError

from core.exceptions import DomainError

# C0 except TAB LF CR, DEL and C1, UTF-16 surrogates (lone ones reach Python from JSON "\ud800"), U+FFFE, U+FFFF.
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


class InvalidText(DomainError):
    code = "invalid_text"


def _describe(char: str) -> str:
    name = unicodedata.name(char, "") or ("surrogate" if "\ud800" <= char <= "\udfff" else "control character")
    return f"U+{ord(char):04X} ({name})"


def text_problem(value: str) -> str | None:
    """Why `value` may not be stored, or None when it may."""
    found = FORBIDDEN.search(value)
    if found is None:
        return None
    return (f"contains {_describe(found.group())} at position {found.start()}; text may not hold control "
            "characters other than tab, carriage return and line feed, nor U+FFFE, U+FFFF or lone surrogates")


def validate_text(value) -> None:
    """Field validator: refuse free text holding characters no export format can carry."""
    if isinstance(value, str) and (problem := text_problem(value)):
        raise ValidationError(f"This text {problem}.", code="invalid_text")


def clean_text(value: str) -> str:
    """`value` without the characters `validate_text` refuses: for writers, whatever was stored before."""
    return FORBIDDEN.sub("", value) if value else value


def clean_tree(value):
    """`clean_text` over every string of a JSON-like structure (dicts, lists, tuples)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_tree(k): clean_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(clean_tree(v) for v in value)
    return value


@functools.cache
def guarded_fields(model) -> tuple:
    """The concrete fields of `model` that carry `validate_text` (once per model class)."""
    return tuple(f for f in model._meta.concrete_fields if validate_text in f.validators)


def text_check(*instances) -> None:
    """Refuse (InvalidText, naming the field) unsaved rows holding refused text: for bulk_create, which sends no
    pre_save."""
    for instance in instances:
        for field in guarded_fields(type(instance)):
            value = getattr(instance, field.attname)
            if isinstance(value, str) and (problem := text_problem(value)):
                raise InvalidText(f"{field.name}: this text {problem}.")


def text_guard(sender, instance, raw=False, **kwargs) -> None:
    """pre_save hook: no row is written with refused text in a field that carries `validate_text`."""
    if not raw:  # fixtures (loaddata) are written verbatim
        text_check(instance)


def clean_rows(apps, app_label: str, fields: dict[str, list[str]]) -> int:
    """For data migrations: drop refused characters from `fields` ({model name: [field, ...]}) of every row of
    `app_label` that holds some; rows without any are not touched. Returns the number of rows changed."""
    cleaned = 0
    for model_name, names in fields.items():
        model = apps.get_model(app_label, model_name)
        for row in model.objects.only("pk", *names).iterator():
            changes = {f: clean_text(getattr(row, f)) for f in names
                       if getattr(row, f) and clean_text(getattr(row, f)) != getattr(row, f)}
            if changes:
                model.objects.filter(pk=row.pk).update(**changes)
                cleaned += 1
    return cleaned
