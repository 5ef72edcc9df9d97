"""deploy/k8s: the production overlay renders, every object is valid for a fixed Kubernetes
version (kubernetes-validate's bundled schemas, strict: an unknown field is an error), and the
manifests say what the README promises (probes, scaling, disruption budgets, network policy,
secrets from an uncommitted file). Offline: ``kubectl kustomize`` renders where it is installed,
else tests/deploy/kustomize_lite.py; where both are there, they must agree."""

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy import kustomize_lite

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
OVERLAY = Path("overlays") / "production"
KUBERNETES_VERSION = "1.33.0"
SCALEDOBJECT_SCHEMA = json.loads((Path(__file__).parent / "scaledobject.schema.json").read_text())
SECRET_KEYS = {
    "DJANGO_SECRET_KEY",
    "PII_ENCRYPTION_KEYS",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "QDRANT_API_KEY",
    "METRICS_TOKEN",
}

Obj = dict[str, Any]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of deploy/k8s with the overlay's secrets.env made from its committed example."""
    root = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, root, ignore=shutil.ignore_patterns("secrets.env"))
    shutil.copy(root / OVERLAY / "secrets.env.example", root / OVERLAY / "secrets.env")
    return root


def kubectl_render(folder: Path) -> list[Obj]:
    out = subprocess.run(
        ["kubectl", "kustomize", str(folder)], capture_output=True, text=True, check=True
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


@pytest.fixture(scope="module")
def objects(tree: Path) -> list[Obj]:
    if shutil.which("kubectl"):
        return kubectl_render(tree / OVERLAY)
    return kustomize_lite.render(tree / OVERLAY)


def by_kind(objects: list[Obj], kind: str) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def pod_spec(workload: Obj) -> Obj:
    spec: Obj = workload["spec"]["template"]["spec"]
    return spec


def container(workload: Obj, name: str) -> Obj:
    return next(c for c in pod_spec(workload)["containers"] if c["name"] == name)


def settings(objects: list[Obj]) -> dict[str, str]:
    (config_map,) = by_kind(objects, "ConfigMap").values()
    data: dict[str, str] = config_map["data"]
    return data


def test_every_object_is_valid_for_the_kubernetes_version(objects: list[Obj]) -> None:
    kinds = sorted({o["kind"] for o in objects})
    assert kinds == [
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Ingress",
        "Job",
        "Namespace",
        "NetworkPolicy",
        "PersistentVolumeClaim",
        "PodDisruptionBudget",
        "ScaledObject",
        "Secret",
        "Service",
        "StatefulSet",
    ]
    for obj in objects:
        if obj["apiVersion"] == "keda.sh/v1alpha1":
            # A custom resource: kubernetes-validate has no schema for it.
            jsonschema.Draft202012Validator(SCALEDOBJECT_SCHEMA).validate(obj)
        else:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_the_validators_reject_a_misspelt_field(objects: list[Obj]) -> None:
    web = copy.deepcopy(by_kind(objects, "Deployment")["web"])
    web["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(web, KUBERNETES_VERSION, strict=True)
    vllm = copy.deepcopy(by_kind(objects, "ScaledObject")["vllm"])
    vllm["spec"]["maxReplicas"] = 4
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(SCALEDOBJECT_SCHEMA).validate(vllm)


def canonical(obj: Obj) -> str:
    return json.dumps(obj, sort_keys=True)


@pytest.mark.skipif(not shutil.which("kubectl"), reason="no kubectl here to compare with")
def test_kustomize_lite_renders_what_kubectl_renders(tree: Path) -> None:
    for folder in (tree / "base", tree / OVERLAY):
        ours = kustomize_lite.comparable(kustomize_lite.render(folder))
        theirs = kustomize_lite.comparable(kubectl_render(folder))
        assert sorted(ours, key=canonical) == sorted(theirs, key=canonical)


def test_the_processes_and_their_update_strategies(objects: list[Obj]) -> None:
    deployments = by_kind(objects, "Deployment")
    assert sorted(deployments) == ["beat", "vllm", "web", "worker"]
    beat = deployments["beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    for name in ("web", "worker", "vllm"):  # their autoscalers own the count
        assert "replicas" not in deployments[name]["spec"]
    assert by_kind(objects, "StatefulSet")["qdrant"]["spec"]["replicas"] == 1
    assert settings(objects)["QDRANT_URL"] == "http://qdrant:6333"
    worker_ports = container(deployments["worker"], "worker")["ports"]
    assert [p["containerPort"] for p in worker_ports] == [
        int(settings(objects)["WORKER_METRICS_PORT"])
    ]


def test_probes(objects: list[Obj]) -> None:
    deployments = by_kind(objects, "Deployment")
    web = container(deployments["web"], "web")
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["startupProbe"]["httpGet"]["path"] == "/healthz"
    vllm = container(deployments["vllm"], "vllm")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert vllm[probe]["httpGet"]["path"] == "/health"
    assert "celery@$HOSTNAME" in " ".join(
        container(deployments["worker"], "worker")["livenessProbe"]["exec"]["command"]
    )
    assert "celerybeat.pid" in " ".join(
        container(deployments["beat"], "beat")["livenessProbe"]["exec"]["command"]
    )
    qdrant = container(by_kind(objects, "StatefulSet")["qdrant"], "qdrant")
    assert qdrant["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_web_probes_and_ingress_name_an_allowed_host(objects: list[Obj]) -> None:
    """Django answers 400 to a Host outside DJANGO_ALLOWED_HOSTS: a probe that names another
    host never passes."""
    allowed = settings(objects)["DJANGO_ALLOWED_HOSTS"].split(",")
    web = container(by_kind(objects, "Deployment")["web"], "web")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        headers = {h["name"]: h["value"] for h in web[probe]["httpGet"]["httpHeaders"]}
        assert headers["Host"] in allowed
    ingress = by_kind(objects, "Ingress")["web"]
    assert {rule["host"] for rule in ingress["spec"]["rules"]} <= set(allowed)


def test_models_are_in_place_before_the_servers_start(objects: list[Obj]) -> None:
    deployments = by_kind(objects, "Deployment")
    web_init = [c["name"] for c in pod_spec(deployments["web"])["initContainers"]]
    assert web_init == ["migrations", "models"]
    assert "manage.py migrate --check" in " ".join(
        pod_spec(deployments["web"])["initContainers"][0]["command"]
    )
    assert [c["name"] for c in pod_spec(deployments["vllm"])["initContainers"]] == ["base-model"]
    release = pod_spec(by_kind(objects, "Job")["release"])
    assert [c["name"] for c in release["initContainers"]] == ["migrate"]
    assert "ml.generation.base_from_gguf" in " ".join(release["containers"][0]["command"])


def test_every_container_has_requests_and_a_memory_limit(objects: list[Obj]) -> None:
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            pod = pod_spec(obj)
            for c in [*pod.get("initContainers", []), *pod["containers"]]:
                where = f"{obj['kind']}/{obj['metadata']['name']}/{c['name']}"
                assert {"cpu", "memory"} <= set(c["resources"]["requests"]), where
                assert "memory" in c["resources"]["limits"], where


def test_autoscaling(objects: list[Obj]) -> None:
    (hpa,) = by_kind(objects, "HorizontalPodAutoscaler").values()
    assert hpa["spec"]["scaleTargetRef"]["name"] == "web"
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    scaled = by_kind(objects, "ScaledObject")
    (vllm_trigger,) = scaled["vllm"]["spec"]["triggers"]
    assert vllm_trigger["type"] == "prometheus"
    assert "vllm:num_requests_waiting" in vllm_trigger["metadata"]["query"]
    (worker_trigger,) = scaled["worker"]["spec"]["triggers"]
    assert worker_trigger["type"] == "redis"
    assert worker_trigger["metadata"]["listName"] == "celery"
    # The redis trigger reads the broker's address and password from the worker's environment.
    secret_keys = kustomize_lite.env_pairs((K8S / OVERLAY / "secrets.env.example").read_text())
    for field in ("addressFromEnv", "passwordFromEnv"):
        assert worker_trigger["metadata"][field] in secret_keys
    for so in scaled.values():
        assert so["spec"]["scaleTargetRef"]["name"] in by_kind(objects, "Deployment")


def test_disruption_budgets_select_running_pods(objects: list[Obj]) -> None:
    budgets = by_kind(objects, "PodDisruptionBudget")
    assert sorted(budgets) == ["vllm", "web", "worker"]
    for name, budget in budgets.items():
        labels = by_kind(objects, "Deployment")[name]["spec"]["template"]["metadata"]["labels"]
        assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_network_policies(objects: list[Obj]) -> None:
    policies = by_kind(objects, "NetworkPolicy")
    assert policies["default-deny-ingress"]["spec"] == {
        "podSelector": {},
        "policyTypes": ["Ingress"],
    }

    def allowed_components(name: str) -> set[str]:
        (rule,) = policies[name]["spec"]["ingress"]
        (source,) = rule["from"]
        (expression,) = source["podSelector"]["matchExpressions"]
        return set(expression["values"])

    assert allowed_components("vllm-from-app") == {"web", "worker"}
    assert allowed_components("qdrant-from-app") == {"web", "worker", "beat", "release"}
    (web_rule,) = policies["web-from-ingress"]["spec"]["ingress"]
    assert web_rule["ports"] == [{"protocol": "TCP", "port": 8000}]
    assert "namespaceSelector" in web_rule["from"][0]


def test_references_resolve(objects: list[Obj]) -> None:
    config_maps, secrets = by_kind(objects, "ConfigMap"), by_kind(objects, "Secret")
    claims = by_kind(objects, "PersistentVolumeClaim")
    services = by_kind(objects, "Service")
    for obj in objects:
        if obj["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        pod = pod_spec(obj)
        for c in [*pod.get("initContainers", []), *pod["containers"]]:
            for source in c.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in config_maps
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets
            for env in c.get("env", []):
                ref = env["valueFrom"]["secretKeyRef"]
                assert ref["key"] in secrets[ref["name"]]["data"]
        for volume in pod.get("volumes", []):
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims
    for service in services.values():
        selector = service["spec"]["selector"]
        assert any(
            selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()
            for w in objects
            if w["kind"] in ("Deployment", "StatefulSet")
        ), service["metadata"]["name"]


def test_secrets_come_from_an_uncommitted_file(objects: list[Obj]) -> None:
    (secret,) = by_kind(objects, "Secret").values()
    assert set(secret["data"]) >= SECRET_KEYS
    # The overlay's secrets.env is ignored by git; only its example is committed.
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(K8S / OVERLAY / "secrets.env")], cwd=REPO, check=False
    )
    assert ignored.returncode == 0
    # Nothing secret among the plain settings.
    assert not set(settings(objects)) & SECRET_KEYS
    for key in settings(objects):
        assert not any(word in key for word in ("SECRET", "PASSWORD", "TOKEN", "API_KEY")), key
