"""The OAI-PMH provider harvested by a real harvester (oaipmh-scythe, sickle's maintained successor) over HTTP:
Identify, ListMetadataFormats, ListSets, ListIdentifiers and ListRecords with resumption tokens over 10,000 models,
GetRecord in oai_dc and oai_datacite, a withdrawn model as a deleted record, restricted models never; the protocol's
error codes."""

from datetime import timedelta
from xml.etree import ElementTree

import pytest
from datacite import schema45
from django.utils import timezone
from oaipmh_scythe import Scythe
from oaipmh_scythe.exceptions import BadArgument, BadResumptionToken, BadVerb, CannotDisseminateFormat, IdDoesNotExist, NoRecordsMatch

from archive.citation.datacite import model_datacite_json
from archive.withdrawals import model_withdraw
from catalogue.models import AIModel
from tests.archive.citation.snapshots import sealed_snapshot
from tests.factories import AIModelFactory, CuratorFactory, ProviderFactory

MODELS = 10_000
NS = {"d": "http://datacite.org/schema/kernel-4"}


@pytest.fixture
def archive_models(transactional_db):
    """10,000 models of two providers (bulk), one restricted, one withdrawn, one with a sealed snapshot."""
    labs = [ProviderFactory(slug="alpha", name="Alpha"), ProviderFactory(slug="beta", name="Beta")]
    AIModel.objects.bulk_create(
        [AIModel(provider=labs[i % 2], name=f"m-{i:05d}", repo_key=f"{labs[i % 2].slug}/m-{i:05d}",
                 retires_on=timezone.localdate() - timedelta(days=1) if i % 10 == 0 else None)
         for i in range(MODELS)],
        batch_size=2000,
    )
    hidden = AIModelFactory(provider=labs[0], name="secret", metadata_access="restricted")
    gone = AIModelFactory(provider=labs[1], name="gone", display_name="Gone")
    model_withdraw(model=gone, reason="Licence withdrawn by the maker.", withdrawn_by=CuratorFactory())
    cited = AIModelFactory(provider=labs[0], name="cited", display_name="Cited", license="mit")
    snapshot = sealed_snapshot(cited)
    return {"hidden": hidden, "gone": gone, "cited": cited, "snapshot": snapshot}


def test_harvest_everything(live_server, archive_models):
    with Scythe(f"{live_server.url}/oai") as scythe:
        harvest_everything(scythe, archive_models)


def harvest_everything(scythe, archive_models):
    identify = scythe.identify()
    assert identify.protocolVersion == "2.0" and identify.deletedRecord == "persistent"
    assert {f.metadataPrefix for f in scythe.list_metadata_formats()} == {"oai_dc", "oai_datacite"}
    sets = {s.setSpec for s in scythe.list_sets()}
    assert {"provider:alpha", "provider:beta", "status:retired", "status:active"} <= sets

    records = list(scythe.list_records(metadata_prefix="oai_dc", ignore_deleted=False))
    identifiers = [r.header.identifier for r in records]
    assert len(identifiers) == len(set(identifiers)) == MODELS + 2  # every page once, through resumption tokens
    assert f"oai:coda:{archive_models['hidden'].repo_key}" not in identifiers
    deleted = [r for r in records if r.header.deleted]
    assert [r.header.identifier for r in deleted] == ["oai:coda:beta/gone"]
    assert deleted[0].xml.find("{http://www.openarchives.org/OAI/2.0/}metadata") is None  # no metadata, header only
    cited = next(r for r in records if r.header.identifier == "oai:coda:alpha/cited")
    assert cited.metadata["creator"] == ["Alpha"] and cited.metadata["rights"] == ["mit"]

    retired = list(scythe.list_identifiers(metadata_prefix="oai_dc", set_="status:retired"))
    assert len(retired) == MODELS // 10
    beta = list(scythe.list_identifiers(metadata_prefix="oai_dc", set_="provider:beta", ignore_deleted=True))
    assert len(beta) == MODELS // 2


def test_get_record_datacite_and_incremental(live_server, archive_models):
    with Scythe(f"{live_server.url}/oai") as scythe:
        get_record_datacite_and_incremental(scythe, archive_models)


def get_record_datacite_and_incremental(scythe, archive_models):
    record = scythe.get_record(identifier="oai:coda:alpha/cited", metadata_prefix="oai_datacite")
    resource = record.xml.find(".//d:resource", NS)
    assert resource.find("d:version", NS).text == archive_models["snapshot"].revision
    assert resource.find("d:resourceType", NS).get("resourceTypeGeneral") == "Model"
    gone = scythe.get_record(identifier="oai:coda:beta/gone", metadata_prefix="oai_datacite")
    assert gone.header.deleted
    with pytest.raises(IdDoesNotExist):
        scythe.get_record(identifier=f"oai:coda:{archive_models['hidden'].repo_key}", metadata_prefix="oai_dc")

    # incremental: only what changed since a moment
    later = timezone.now() + timedelta(seconds=2)
    AIModel.objects.filter(repo_key="alpha/m-00002").update(updated_at=later + timedelta(seconds=5))
    since = later.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [h.identifier for h in scythe.list_identifiers(metadata_prefix="oai_dc", from_=since)] == ["oai:coda:alpha/m-00002"]
    with pytest.raises(NoRecordsMatch):
        list(scythe.list_identifiers(metadata_prefix="oai_dc", until="2001-01-01"))


def test_model_without_snapshot_in_oai_datacite_is_valid(client, db):
    model = AIModelFactory(description="About it.", license="apache-2.0")
    response = client.get("/oai", {"verb": "GetRecord", "identifier": f"oai:coda:{model.repo_key}",
                                   "metadataPrefix": "oai_datacite"})
    resource = ElementTree.fromstring(response.content).find(".//d:resource", NS)
    assert resource.find("d:titles/d:title", NS).text == model.display_name
    data = model_datacite_json(model=model, url="https://example.org/x")
    assert schema45.validate(data)


@pytest.mark.parametrize("query, error", [
    ({}, BadVerb), ({"verb": "Dance"}, BadVerb),
    ({"verb": "ListRecords"}, BadArgument),
    ({"verb": "ListRecords", "metadataPrefix": "marc"}, CannotDisseminateFormat),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "yesterday"}, BadArgument),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-01-01", "until": "2030-01-01T00:00:00Z"}, BadArgument),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "colour:red"}, BadArgument),
    ({"verb": "ListRecords", "resumptionToken": "not-a-token"}, BadResumptionToken),
    ({"verb": "ListRecords", "resumptionToken": "x", "metadataPrefix": "oai_dc"}, BadArgument),
    ({"verb": "GetRecord", "identifier": "oai:coda:nobody/none", "metadataPrefix": "oai_dc"}, IdDoesNotExist),
])
def test_error_codes(client, db, query, error):
    AIModelFactory()
    root = ElementTree.fromstring(client.get("/oai", query).content)
    found = root.find("{http://www.openarchives.org/OAI/2.0/}error")
    code = error.__name__[0].lower() + error.__name__[1:]
    assert found is not None and found.get("code") == code
