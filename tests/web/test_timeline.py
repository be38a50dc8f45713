"""The retirement timeline (/timeline/) and the model page's lifecycle bar: server-drawn SVG within the visibility rules."""

import re
from datetime import date

import pytest

from web.timeline import timeline_layout
from tests.factories import AIModelFactory, CuratorFactory, ProviderFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 1)


@pytest.fixture
def lab_models():
    lab, other = ProviderFactory(slug="lab", name="Lab"), ProviderFactory(slug="zeta", name="Zeta")
    new = AIModelFactory(provider=lab, name="orca-2", display_name="Orca 2", release_date=date(2025, 9, 1))
    old = AIModelFactory(provider=lab, name="orca-1", display_name="Orca 1", release_date=date(2024, 1, 10),
                         deprecated_on=date(2025, 9, 1), retires_on=date(2026, 1, 5), replacement=new)
    hidden = AIModelFactory(provider=other, name="secret", display_name="Secret", metadata_access="restricted",
                            retires_on=date(2027, 6, 1))
    undated = AIModelFactory(provider=other, name="undated", display_name="Undated")
    return {"old": old, "new": new, "hidden": hidden, "undated": undated}


def test_layout_orders_each_lifecycle_and_links_replacements(lab_models):
    old, new = lab_models["old"], lab_models["new"]
    tl = timeline_layout([new, old, lab_models["undated"]], today=TODAY, replacements={old.pk: new})
    assert tl.undated == 1
    (group,) = tl.groups
    lanes = {lane.model.pk: lane for lane in group["lanes"]}
    marks = {m["kind"]: m["x"] for m in lanes[old.pk].marks}
    assert marks["released"] < marks["deprecated"] < marks["retired"]
    assert marks["retired"] < tl.today_x  # retired before today
    assert [s["kind"] for s in lanes[old.pk].segments] == ["active", "deprecated"]
    assert lanes[old.pk].replacement_y == lanes[new.pk].y
    assert tl.ticks[0]["label"] == "2024" and tl.ticks[-1]["label"] == "2027"
    assert "Orca 1: released 2024-01-10, deprecated 2025-09-01, retired 2026-01-05" == lanes[old.pk].description


def test_timeline_page_draws_visible_models_grouped_and_linked(client, lab_models):
    response = client.get("/timeline/")
    assert response.status_code == 200
    assert "default-src 'self'" in response["Content-Security-Policy"]
    html = response.content.decode()
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert svg.count('class="tl-lane"') == 2  # orca-1 and orca-2; the undated model is counted, the hidden one absent
    assert "Secret" not in html and "/models/zeta/secret/" not in html
    assert "1 model with no recorded date is not drawn" in html
    assert 'href="/models/lab/orca-2/" aria-label="Replaced by Orca 2"' in svg
    assert 'class="tl-replaced"' in svg
    assert "style=" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html)  # CSP: nothing inline
    assert ">today<" in svg


def test_timeline_filters_by_provider_and_shows_hidden_models_to_curators(client, lab_models):
    html = client.get("/timeline/?provider=zeta").content.decode()
    assert "tl-lane" not in html and "No model with a recorded date matches" in html
    client.force_login(CuratorFactory(username="cur"))
    html = client.get("/timeline/?provider=zeta").content.decode()
    assert html.count('class="tl-lane"') == 1 and "/models/zeta/secret/" in html


def test_hidden_replacement_is_not_linked(client, lab_models):
    old = lab_models["old"]
    old.replacement = lab_models["hidden"]
    old.save()
    html = client.get("/timeline/").content.decode()
    assert "Replaced by" not in html and "secret" not in html


def test_model_page_has_a_lifecycle_bar(client, lab_models):
    html = client.get("/models/lab/orca-1/").content.decode()
    svg = html[html.index('<svg class="tl"'):html.index("</svg>")]
    assert "Lifecycle of this model" in svg
    assert "<title>Retired 2026-01-05</title>" in svg and "<title>Released 2024-01-10</title>" in svg
