"""docker-compose.yml cannot run here (no Docker engine): check it is consistent with the settings."""

import re
from pathlib import Path

import yaml

from tests.config.envvars import environment_variables

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
READ_BY_CODE = environment_variables()


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
            assert variable in READ_BY_CODE, f"{name} passes {variable}, which the code never reads"


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


def _interpolate(value: str, variables: dict) -> str:
    """Compose's ${NAME} and ${NAME:-default} (with $$ for a literal $)."""
    def replace(match):
        name, default = match.group(1), match.group(2)
        return variables.get(name) or (default if default is not None else "")

    return re.sub(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}", replace, value).replace("$$", "$")


def test_check_deploy_reports_nothing_for_the_compose_production_environment():
    """The web container's environment (.env from .env.example, then compose's `environment:`), given to
    `manage.py check --deploy --fail-level WARNING` in a fresh process: no warning, nothing silenced."""
    import os
    import subprocess
    import sys

    dotenv = dict(
        line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    )
    web = app_services()["web"]
    container = dict(dotenv) | {name: _interpolate(str(value), dotenv) for name, value in web["environment"].items()}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CELERY_", "DJANGO_", "CODA_"))}
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env | container, capture_output=True, text=True, timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output, output
