"""The environment variables Coda's code reads, found by reading the code (not by running it)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("config", "core", "catalogue", "archive", "dossier")
ENV_READERS = {"env_str", "env_int", "env_bool", "env_list", "env_json", "getenv"}


def _constant(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _names_in(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = _constant(node.args[0])
            if first is None:
                continue
            reads_environ = called == "get" and isinstance(func, ast.Attribute) and (
                getattr(func.value, "attr", "") == "environ" or getattr(func.value, "id", "") == "environ"
            )
            if called in ENV_READERS or reads_environ:
                names.add(first)
            elif called == "_beat":  # config/settings/tasks.py: each beat entry is overridable as CODA_BEAT_<NAME>
                names.add("CODA_BEAT_" + first.upper().replace("-", "_"))
        elif isinstance(node, ast.Dict):  # storage locations name the variables holding their credentials
            for key, value in zip(node.keys, node.values):
                if key is not None and (_constant(key) or "").endswith("_env") and _constant(value):
                    names.add(_constant(value))
    return names


def environment_variables() -> dict[str, set[str]]:
    """Variable name -> the files (relative paths) that read it."""
    found: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for name in _names_in(ast.parse(path.read_text())):
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found
