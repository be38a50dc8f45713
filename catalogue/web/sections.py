"""Sections that apps above the catalogue add to the model page (the retirement dossier's, for one).

The catalogue never imports those apps: each registers its section from its `AppConfig.ready()`, and the model
page renders the registered sections, in registration order, after its own."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ModelSection:
    name: str  # the template context key the section's value is put under
    template: str
    context: Callable[..., Any]  # context(user=…, model=…) -> that value


_sections: dict[str, ModelSection] = {}


def register_model_section(*, name: str, template: str, context: Callable[..., Any]) -> None:
    """Add (or replace, so a second `ready()` is harmless) a section of the model page."""
    _sections[name] = ModelSection(name=name, template=template, context=context)


def model_sections() -> list[ModelSection]:
    return list(_sections.values())
