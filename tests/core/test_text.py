"""Free text: control characters are refused at every door that stores text (API, admin, import commands,
interview import, services), with a 4xx or an error naming the field and the character, and nothing written."""

import io
import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from catalogue import services as catalogue_services
from catalogue.models import AIModel
from core.text import FORBIDDEN, InvalidText, clean_text, clean_tree, guarded_fields, text_problem
from dossier.models import ExitInterview
from tests.factories import AIModelFactory, ProviderFactory, UserFactory, api_client, CuratorFactory

pytestmark = pytest.mark.django_db

# Every character the rule refuses that a database can hold (PostgreSQL refuses NUL in text itself; the request
# guard answers 400 for it before any view), and the three controls it keeps.
REFUSED = [chr(c) for c in [*range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0), 0xFFFE, 0xFFFF]]
KEPT = "\t\r\n"
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def test_the_rule_refuses_exactly_the_characters_named():
    refused = {chr(c) for c in range(0x110000) if FORBIDDEN.match(chr(c))}
    assert refused == set(REFUSED) | {"\x00"} | {chr(c) for c in range(0xD800, 0xE000)}
    for char in KEPT + "\u2028\u00a0é}{<&":
        assert text_problem(f"a{char}b") is None
    assert "U+000B" in text_problem("tab\u000bbed") and "position 3" in text_problem("tab\u000bbed")
    assert clean_text("a\x01b\x7fc\u0085d\ufffee\tf") == "abcde\tf"
    assert clean_tree({"k\x01": ["a\x02", ("b\x03",), 4]}) == {"k": ["a", ("b",), 4]}


def test_every_curated_text_field_carries_the_rule():
    """The fields whose text reaches an export or a page; keys, digests and paths have stricter validators."""
    names = {f"{field.model._meta.label}.{field.name}" for model in _models() for field in guarded_fields(model)}
    for expected in ["catalogue.AIModel.display_name", "catalogue.AIModel.description", "catalogue.AIModel.license",
                     "catalogue.Provider.name", "catalogue.Retirement.reason", "catalogue.AccessRequest.purpose",
                     "dossier.InterviewTurn.text", "dossier.ModelRequest.quote", "dossier.ModelWriting.body",
                     "dossier.PostDeploymentReport.body", "archive.Snapshot.withdrawal_reason", "archive.Snapshot.doi"]:
        assert expected in names


def _models():
    from django.apps import apps

    return [m for m in apps.get_models() if m._meta.app_label in {"catalogue", "dossier", "archive"}]


@pytest.mark.parametrize("char", REFUSED, ids=lambda c: f"U+{ord(c):04X}")
def test_api_refuses_each_character_and_writes_nothing(char):
    model = AIModelFactory(provider=ProviderFactory(slug="acme"), name="m1", description="before")
    response = api_client(CuratorFactory()).patch(
        "/api/v1/models/acme/m1/", {"description": f"tab{char}bed"}, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert f"U+{ord(char):04X}" in json.dumps(body) and "description" in json.dumps(body)
    model.refresh_from_db()
    assert model.description == "before"


def test_api_refuses_a_lone_surrogate():
    AIModelFactory(provider=ProviderFactory(slug="acme"), name="m1")
    raw = '{"display_name": "a\\ud800b"}'
    response = api_client(CuratorFactory()).patch("/api/v1/models/acme/m1/", raw, content_type="application/json")
    assert response.status_code == 400 and "U+D800" in response.content.decode()


def test_api_keeps_tab_cr_lf_and_other_text():
    AIModelFactory(provider=ProviderFactory(slug="acme"), name="m1")
    text = "line one\r\nline\ttwo\n\u2028 é {braces} <b>"
    response = api_client(CuratorFactory()).patch("/api/v1/models/acme/m1/", {"description": text}, format="json")
    assert response.status_code == 200
    assert AIModel.objects.get(name="m1").description == text


def test_retirement_api_refuses_control_characters():
    AIModelFactory(provider=ProviderFactory(slug="acme"), name="m1")
    response = api_client(CuratorFactory()).post("/api/v1/retirements/", {
        "model": "acme/m1", "reason_category": "cost", "retires_on": "2027-04-08", "reason": "old\x01"}, format="json")
    assert response.status_code == 400 and "U+0001" in response.content.decode()


def test_admin_form_refuses_with_the_field_named(client):
    model = AIModelFactory(provider=ProviderFactory(slug="acme"), name="m1", display_name="Before")
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    url = reverse("admin:catalogue_aimodel_change", args=[model.pk])
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data = {k: ([str(x) for x in v] if isinstance(v, list) else v) for k, v in data.items()}
    data["display_name"] = "Bad\x01name"
    for prefix, formset in ((fs.formset.prefix, fs.formset) for fs in page.context["inline_admin_formsets"]):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    response = client.post(url, data)
    assert response.status_code == 200  # the form again, with the error
    assert "U+0001" in response.content.decode()
    model.refresh_from_db()
    assert model.display_name == "Before"


def test_services_refuse_whatever_door_calls_them():
    model = AIModelFactory(provider=ProviderFactory(slug="acme"), name="m1", family="Before")
    with pytest.raises(ValidationError, match="U\\+001B"):
        catalogue_services.model_update(model=model, family="esc\x1b[31m")
    # A save that validates nothing (a command, a future service) meets the pre_save guard.
    model = AIModel.objects.get(pk=model.pk)
    model.family = "esc\x1b[31m"
    with pytest.raises(InvalidText, match="family: .*U\\+001B"):
        model.save()
    assert AIModel.objects.get(pk=model.pk).family == "Before"


def test_deprecations_import_reports_the_row_and_goes_on(tmp_path):
    row = {"provider": "acme", "platform": "acme-api", "name": "good-1", "display_name": "Good",
           "retired": "2024-01-01", "sources": ["https://example.org/a"]}
    rows = [row, {**row, "name": "bad-1", "display_name": "Bad\x07bell"}]
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"models": rows}))
    out = io.StringIO()
    call_command("import_deprecations", str(path), stdout=out, stderr=out)
    assert AIModel.objects.filter(name="good-1").exists() and not AIModel.objects.filter(name="bad-1").exists()
    assert "U+0007" in out.getvalue()


def test_interview_import_refuses_and_writes_nothing(tmp_path):
    AIModelFactory(provider=ProviderFactory(slug="anthropic"), name="claude-3-opus-20240229")
    doc = json.loads((EXAMPLES / "interview.json").read_text())
    doc["turns"][1]["text"] = "page\x0cbreak " + doc["turns"][1]["text"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(CommandError, match="U\\+000C"):
        call_command("import_interview", "anthropic/claude-3-opus-20240229", str(bad))
    assert not ExitInterview.objects.exists()


def test_the_data_migrations_clean_what_was_stored_before():
    """The function catalogue 0011, dossier 0003 and archive 0012 run, over rows written without validation."""
    import importlib

    from django.apps import apps

    from core.text import clean_rows

    bad = AIModelFactory(provider=ProviderFactory(slug="acme", name="Acme"), name="m1", description="ok")
    good = AIModelFactory(provider=ProviderFactory(slug="acme"), name="m2", description="line\ttab\r\n\u2028kept")
    AIModel.objects.filter(pk=bad.pk).update(description="a\x01b\x7fc", display_name="D\x0bN")
    fields = importlib.import_module("catalogue.migrations.0011_free_text_cleaned").FIELDS
    assert clean_rows(apps, "catalogue", fields) == 1
    bad.refresh_from_db()
    assert (bad.description, bad.display_name) == ("abc", "DN")
    assert AIModel.objects.get(pk=good.pk).description == "line\ttab\r\n\u2028kept"
    assert clean_rows(apps, "catalogue", fields) == 0
