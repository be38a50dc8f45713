"""docker-compose.yml cannot run here (no Docker engine): check it is consistent with the settings."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SETTINGS_SOURCE = (ROOT / "config" / "settings.py").read_text()


def app_services():
    return {name: svc for name, svc in COMPOSE["services"].items() if name in ("web", "worker", "beat")}


def test_required_services_are_defined_with_healthchecks():
    services = COMPOSE["services"]
    for name in ("postgres", "redis", "minio", "createbucket", "web", "worker", "beat"):
        assert name in services, name
    for name in ("postgres", "redis", "minio", "web"):
        assert "healthcheck" in services[name], name
    assert set(COMPOSE["volumes"]) >= {"pgdata", "redisdata", "miniodata"}


def test_every_variable_passed_to_coda_exists_in_settings():
    for name, service in app_services().items():
        for variable in service["environment"]:
            assert f'"{variable}"' in SETTINGS_SOURCE, f"{name} passes {variable}, which settings never read"


def test_settings_services_point_at_compose_services():
    env = app_services()["web"]["environment"]
    hosts = set(COMPOSE["services"])
    for variable in ("DATABASE_URL", "CELERY_BROKER_URL", "CODA_S3_ENDPOINT_URL"):
        host = re.search(r"//(?:[^@/]*@)?([^:/]+)", env[variable]).group(1)
        assert host in hosts, f"{variable} points at {host}, which compose does not define"


def test_env_example_defines_every_interpolated_secret():
    text = (ROOT / "docker-compose.yml").read_text()
    interpolated = set(re.findall(r"(?<!\$)\$\{([A-Z_]+)(?::-[^}]*)?\}", text))
    example = {line.split("=")[0] for line in (ROOT / ".env.example").read_text().splitlines() if "=" in line}
    assert interpolated <= example, interpolated - example


def test_production_mode_and_worker_commands():
    services = app_services()
    assert all(svc["environment"]["CODA_ENV"] == "production" for svc in services.values())
    assert "worker" in services["worker"]["command"] and "beat" in services["beat"]["command"]
