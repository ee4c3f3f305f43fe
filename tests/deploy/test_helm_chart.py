"""deploy/helm/portal rendered by Helm's own Go template engine (helm-python-sdk binds the
official Helm SDK), linted, and every manifest checked against the Kubernetes API schemas
(kubernetes-validate). No cluster is contacted: nothing here installs the chart.

Helm runs in a child process: its library brings a Go runtime (threads, signal handlers) that
has no business in the test process, which later forks workers and drives browsers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "portal"
# The chart's kubeVersion floor and the newest schemas kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.utils.latest_version())
SECRET_KEYS = {"DJANGO_SECRET_KEY", "PORTAL_ENCRYPTION_KEYS", "DATABASE_URL", "REDIS_URL"}

HELM = """
import json, sys
import helm_python
request = json.load(sys.stdin)
try:
    if request["op"] == "lint":
        result = helm_python.lint(request["chart"], request["values"], strict=True)
    else:
        chart = helm_python.Chart.load(request["chart"])
        result = chart.render(request["values"], name="portal", namespace="csp", is_install=True)
    print(json.dumps({"result": result}))
except helm_python.HelmError as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
"""


class HelmFailed(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


def _helm(op: str, values: dict[str, Any]) -> Any:
    done = subprocess.run(
        [sys.executable, "-c", HELM],
        input=json.dumps({"op": op, "chart": str(CHART), "values": values}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answer = json.loads(done.stdout)
    if "error" in answer:
        raise HelmFailed(answer["error"], answer["message"])
    return answer["result"]


def _render(values: dict[str, Any] | None = None, *, secret: bool = True) -> list[dict[str, Any]]:
    merged = {**({"existingSecret": "portal-secrets"} if secret else {}), **(values or {})}
    documents = []
    for text in _helm("render", merged).values():
        documents.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return documents


def _one(documents: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in documents if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} rendered"
    return found[0]


def _containers(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        container
        for d in documents
        if d["kind"] in ("Deployment", "Job")
        for container in d["spec"]["template"]["spec"]["containers"]
    ]


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    return _render()


def test_helm_lints_the_chart_without_warnings() -> None:
    report = _helm("lint", {"existingSecret": "portal-secrets"})
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_rendered_manifest_is_valid_for_the_kubernetes_api(
    manifests: list[dict[str, Any]], version: str
) -> None:
    assert len(manifests) >= 10
    for document in manifests:
        kubernetes_validate.validate(document, version, strict=True)


def test_the_chart_renders_web_worker_beat_migrations_ingress_hpas_and_pdbs(
    manifests: list[dict[str, Any]],
) -> None:
    kinds = sorted((d["kind"], d["metadata"]["name"]) for d in manifests)
    assert kinds == [
        ("Deployment", "portal-beat"),
        ("Deployment", "portal-web"),
        ("Deployment", "portal-worker"),
        ("HorizontalPodAutoscaler", "portal-web"),
        ("HorizontalPodAutoscaler", "portal-worker"),
        ("Ingress", "portal"),
        ("Job", "portal-migrate"),
        ("PodDisruptionBudget", "portal-web"),
        ("PodDisruptionBudget", "portal-worker"),
        ("Service", "portal-web"),
    ]


def test_beat_is_a_single_pod_replaced_by_recreate(manifests: list[dict[str, Any]]) -> None:
    beat = _one(manifests, "Deployment", "portal-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    assert not [
        d
        for d in manifests
        if d["kind"] in ("HorizontalPodAutoscaler", "PodDisruptionBudget")
        and d["metadata"]["name"].endswith("beat")
    ]


def test_values_asking_for_a_second_beat_are_refused_by_the_schema() -> None:
    with pytest.raises(HelmFailed) as refused:
        _render({"beat": {"replicas": 2}})
    assert refused.value.kind == "HelmValuesError"


def test_migrations_run_as_a_job_before_install_and_upgrade(
    manifests: list[dict[str, Any]],
) -> None:
    job = _one(manifests, "Job", "portal-migrate")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    # A pre-install hook runs before the release's own objects exist: no ConfigMap to read.
    assert "configMapRef" not in str(container)


def test_web_probes_are_livez_and_readyz(manifests: list[dict[str, Any]]) -> None:
    (web,) = _one(manifests, "Deployment", "portal-web")["spec"]["template"]["spec"]["containers"]
    assert web["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"


@pytest.mark.parametrize("name", ["portal-worker", "portal-beat"])
def test_celery_pods_are_probed_by_pinging_their_own_node(
    manifests: list[dict[str, Any]], name: str
) -> None:
    (container,) = _one(manifests, "Deployment", name)["spec"]["template"]["spec"]["containers"]
    probe = " ".join(container["livenessProbe"]["exec"]["command"])
    assert "celery -A portal inspect ping -d celery@$HOSTNAME" in probe
    assert "--hostname celery@$HOSTNAME" in " ".join(container["command"])


def test_hpas_scale_web_and_workers_and_replicas_are_left_to_them(
    manifests: list[dict[str, Any]],
) -> None:
    for name in ("portal-web", "portal-worker"):
        hpa = _one(manifests, "HorizontalPodAutoscaler", name)
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert "replicas" not in _one(manifests, "Deployment", name)["spec"]


def test_without_autoscaling_the_deployments_carry_their_replicas() -> None:
    documents = _render(
        {
            "web": {"autoscaling": {"enabled": False}, "replicas": 3},
            "worker": {"autoscaling": {"enabled": False}, "replicas": 5},
        }
    )
    assert not [d for d in documents if d["kind"] == "HorizontalPodAutoscaler"]
    assert _one(documents, "Deployment", "portal-web")["spec"]["replicas"] == 3
    assert _one(documents, "Deployment", "portal-worker")["spec"]["replicas"] == 5


def test_secrets_come_from_the_existing_secret_only(manifests: list[dict[str, Any]]) -> None:
    assert not [d for d in manifests if d["kind"] == "Secret"]
    for container in _containers(manifests):
        assert container["envFrom"] == [{"secretRef": {"name": "portal-secrets"}}]
        assert not SECRET_KEYS & {item["name"] for item in container["env"]}


def test_a_release_without_existing_secret_is_refused() -> None:
    with pytest.raises(HelmFailed, match="existingSecret") as refused:
        _render(secret=False)
    assert refused.value.kind == "HelmRenderError"


def test_secret_settings_in_plain_values_are_refused_by_the_schema() -> None:
    with pytest.raises(HelmFailed) as refused:
        _render({"env": {"DATABASE_URL": "postgres://portal:hunter2@db/portal"}})
    assert refused.value.kind == "HelmValuesError"


def test_every_pod_runs_as_non_root_on_a_read_only_root_filesystem(
    manifests: list[dict[str, Any]],
) -> None:
    pods = [d["spec"]["template"]["spec"] for d in manifests if d["kind"] in ("Deployment", "Job")]
    assert len(pods) == 4
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert {m["mountPath"] for m in container["volumeMounts"]} == {"/tmp", "/app/.data"}
            assert container["resources"]["limits"]["memory"]


def test_an_image_digest_wins_over_the_tag() -> None:
    digest = "sha256:" + "ab" * 32
    documents = _render({"image": {"repository": "registry.example/portal", "digest": digest}})
    for container in _containers(documents):
        assert container["image"] == f"registry.example/portal@{digest}"


def test_the_network_policy_admits_only_the_ingress_controllers_namespace() -> None:
    documents = _render({"networkPolicy": {"enabled": True}})
    policy = _one(documents, "NetworkPolicy", "portal-web")
    (rule,) = policy["spec"]["ingress"]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    ]
    kubernetes_validate.validate(policy, KUBERNETES_VERSIONS[-1], strict=True)
