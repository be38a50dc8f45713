import json
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalogue.deprecations import canonical_name, deprecations_import
from catalogue.models import AIModel, PlatformAvailability

pytestmark = pytest.mark.django_db
BUNDLED = Path(__file__).resolve().parents[2] / "catalogue" / "data" / "deprecations.json"


def write(tmp_path, rows) -> Path:
    path = tmp_path / "deprecations.json"
    path.write_text(json.dumps({"generated": "2026-11-26", "models": rows}, indent=1))
    return path


def row(**overrides):
    base = {
        "provider": "anthropic",
        "platform": "claude-api",
        "name": "claude-3-opus-20240229",
        "display_name": "Claude 3 Opus",
        "family": "Claude 3",
        "released": "2024-02-29",
        "deprecated": "2025-06-30",
        "retired": "2026-01-05",
        "replacement": "anthropic/claude-opus-4-8",
        "status_on_source": "Retired",
        "post_retirement_access": "paid claude.ai users; API by request",
        "sources": ["https://example.org/deprecations"],
        "notes": "a note",
    }
    base.update(overrides)
    return base


def test_bundled_file_imports_and_is_idempotent():
    report = deprecations_import(path=BUNDLED)
    assert report.errors == []
    assert report.total == 100
    opus = AIModel.objects.get(provider__slug="anthropic", name="claude-3-opus-20240229")
    assert opus.retires_on == date(2026, 1, 5)
    assert opus.platforms.get(platform="claude-api").sources
    snapshot = sorted(AIModel.objects.values_list("provider__slug", "name", "retires_on", "replacement_id", "updated_at"))
    again = deprecations_import(path=BUNDLED)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 100)
    assert sorted(AIModel.objects.values_list("provider__slug", "name", "retires_on", "replacement_id", "updated_at")) == snapshot


def test_bundled_copy_matches_shared_data():
    shared = Path(__file__).resolve().parents[3] / "shared" / "data" / "deprecations.json"
    if shared.exists():
        assert json.loads(shared.read_text())["models"] == json.loads(BUNDLED.read_text())["models"]


def test_bedrock_row_is_the_same_model_as_the_makers():
    assert canonical_name(
        provider="anthropic", platform="amazon-bedrock", identifier="anthropic.claude-opus-4-1-20250805-v1:0"
    ) == "claude-opus-4-1-20250805"
    deprecations_import(path=BUNDLED)
    model = AIModel.objects.get(provider__slug="anthropic", name="claude-opus-4-1-20250805")
    platforms = {p.platform: p for p in model.platforms.all()}
    assert set(platforms) == {"claude-api", "amazon-bedrock"}
    assert platforms["amazon-bedrock"].identifier == "anthropic.claude-opus-4-1-20250805-v1:0"
    # The headline lifecycle follows the maker's own platform.
    assert model.retires_on == platforms["claude-api"].retires_on != platforms["amazon-bedrock"].retires_on


def test_changed_row_updates(tmp_path):
    deprecations_import(path=write(tmp_path, [row()]))
    report = deprecations_import(path=write(tmp_path, [row(retired="2026-02-01")]))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    model = AIModel.objects.get(name="claude-3-opus-20240229")
    assert model.retires_on == date(2026, 2, 1)
    assert model.platforms.get().retires_on == date(2026, 2, 1)


def test_replacement_not_in_file_is_created_as_catalogue_entry(tmp_path):
    deprecations_import(path=write(tmp_path, [row()]))
    model = AIModel.objects.get(name="claude-3-opus-20240229")
    assert model.replacement.repo_id == "anthropic/claude-opus-4-8"


@pytest.mark.parametrize(
    "bad,message",
    [
        ({"retired": "2025-01-01"}, "before 'deprecated'"),
        ({"deprecated": "30/06/2025"}, "not a valid ISO date"),
        ({"provider": "Anthropic Inc"}, "provider"),
        ({"name": "claude 3"}, "name"),
        ({"name": None}, "name"),
        ({"replacement": "claude-opus-4"}, "replacement"),
        ({"replacement": "anthropic/claude-3-opus-20240229"}, "the model itself"),
        ({"sources": ["javascript:alert(1)"]}, "http(s) URL"),
        ({"notes": 5}, "notes"),
        ({"platform": "Bad Platform"}, "platform"),
    ],
)
def test_bad_rows_are_reported_with_line_and_skipped(tmp_path, bad, message):
    good = row(name="claude-2.1", replacement=None)
    path = write(tmp_path, [good, row(**bad)])
    report = deprecations_import(path=path)
    assert report.created == 1
    assert len(report.errors) == 1
    error = report.errors[0]
    assert error.startswith("row 1 (line ")
    line = int(error.split("line ")[1].split(")")[0])
    assert path.read_text().splitlines()[line - 1].strip() == "{"
    assert message in error
    # Nothing of the bad row was written.
    assert AIModel.objects.filter(provider__slug="anthropic").count() == 1
    assert PlatformAvailability.objects.count() == 1


def test_non_object_row_is_skipped(tmp_path):
    report = deprecations_import(path=write(tmp_path, ["not a row", row()]))
    assert report.errors[0].startswith("row 0") and report.created >= 1


def test_command_reports_and_strict_fails(tmp_path, capsys):
    path = write(tmp_path, [row(), row(name="x y")])
    call_command("import_deprecations", str(path))
    out = capsys.readouterr()
    assert "1 skipped" in out.out and "row 1 (line" in out.err
    with pytest.raises(CommandError):
        call_command("import_deprecations", str(path), "--strict")


def test_unreadable_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_deprecations", str(bad))
