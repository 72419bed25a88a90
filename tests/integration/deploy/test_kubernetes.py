"""deploy/k8s: both overlays render with `kubectl kustomize` and every object validates.

Built-in kinds are validated with `kubernetes-validate` (strict: unknown fields are errors)
against Kubernetes 1.32, the oldest release whose schema has the preStop `sleep` action.
KEDA's ScaledObject and TriggerAuthentication are custom resources that it has no schema
for; they are checked against the small schemas below (the fields we use, as KEDA's CRD
defines them) and against the queues the code declares.
"""

import base64
import copy
import shutil
import subprocess
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from shared.settings import BrokerSettings
from shared.topology import Topology
from tests.integration.deploy.manifests import (
    CONTAINER_PORT,
    DEPLOY,
    METRICS_PORT,
    SERVICES,
    service_env_names,
)

KUBERNETES_VERSION = "1.32"
OVERLAYS = ("dev", "prod")
KEDA_KINDS = {"ScaledObject", "TriggerAuthentication"}
SECRET_NAMES = {
    "SEAL_KEY",
    "API_CREDENTIALS_KEY",
    "BROKER_URL",
    "DATABASE_URL",
    "DUMPER_MASTER_KEYS",
}
GRACEFUL_TIMEOUT = BrokerSettings.model_fields["graceful_timeout"].default
STOP_WITHIN = 10  # seconds from SIGTERM to exit, README "Operations"

NAME = {"type": "string", "minLength": 1}
SCALED_OBJECT = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["scaleTargetRef", "triggers"],
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name"],
                    "properties": {"name": NAME, "kind": NAME, "apiVersion": NAME},
                },
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["type", "metadata"],
                        "properties": {
                            "type": {"const": "rabbitmq"},
                            "metadata": {
                                "type": "object",
                                "required": ["queueName", "mode", "value"],
                                "additionalProperties": {"type": "string"},
                                "properties": {
                                    "protocol": {"enum": ["amqp", "http", "auto"]},
                                    "mode": {"enum": ["QueueLength", "MessageRate"]},
                                },
                            },
                            "authenticationRef": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["name"],
                                "properties": {"name": NAME},
                            },
                        },
                    },
                },
            },
        },
    },
}
TRIGGER_AUTHENTICATION = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "secretTargetRef": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["parameter", "name", "key"],
                        "properties": {"parameter": NAME, "name": NAME, "key": NAME},
                    },
                }
            },
        },
    },
}
KEDA_SCHEMAS = {"ScaledObject": SCALED_OBJECT, "TriggerAuthentication": TRIGGER_AUTHENTICATION}


def render(overlay: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (apt-get install kubectl; `make test` tries)")
    rendered = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY / "k8s" / "overlays" / overlay)],
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert rendered.returncode == 0, rendered.stderr.decode()
    return [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(request.param)


@pytest.fixture
def objects(overlay: tuple[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return overlay[1]


def of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def validation_error(obj: dict[str, Any]) -> str | None:
    """Why `obj` is invalid, or None."""
    if obj["kind"] in KEDA_KINDS:
        errors = list(jsonschema.Draft202012Validator(KEDA_SCHEMAS[obj["kind"]]).iter_errors(obj))
        return "; ".join(e.message for e in errors) or None
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return f"{'/'.join(map(str, error.path))}: {error.message}"
    return None


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    [only] = deployment["spec"]["template"]["spec"]["containers"]
    return only


class TestRendering:
    def test_every_object_validates(self, objects):
        invalid = {
            f"{o['kind']}/{o['metadata']['name']}": error
            for o in objects
            if (error := validation_error(o)) is not None
        }

        assert invalid == {}
        kinds = {o["kind"] for o in objects}
        assert {"Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"} <= kinds
        assert {"Ingress", "Secret", "ConfigMap", *KEDA_KINDS} <= kinds

    def test_validation_catches_broken_objects(self, objects):
        """The validators can fail: a misspelt probe field and a wrong trigger are reported."""
        deployment = copy.deepcopy(of_kind(objects, "Deployment")["api"])
        container(deployment)["readinessProbe"]["httpGet"]["pth"] = "/readyz"
        scaled = copy.deepcopy(of_kind(objects, "ScaledObject")["dumper"])
        scaled["spec"]["triggers"][0]["type"] = "rabbit"

        assert validation_error(deployment) is not None
        assert validation_error(scaled) is not None

    def test_everything_lives_in_the_overlays_namespace(self, overlay):
        name, objects = overlay
        namespaces = {o["metadata"].get("namespace") for o in objects}

        assert namespaces == {"databasement-dev" if name == "dev" else "databasement"}


class TestDeployments:
    def test_one_deployment_per_service_running_its_module(self, objects):
        deployments = of_kind(objects, "Deployment")

        assert set(deployments) == set(SERVICES)
        for service, deployment in deployments.items():
            assert container(deployment)["command"] == ["python", "-m", f"services.{service}"]

    def test_probes_hit_readyz_and_healthz_on_the_container_port(self, objects):
        for service, deployment in of_kind(objects, "Deployment").items():
            spec = container(deployment)
            http = {"name": "http", "containerPort": CONTAINER_PORT, "protocol": "TCP"}
            metrics = {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}
            assert spec["ports"] == ([http, metrics] if service == "api" else [http])
            assert spec["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
            assert spec["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}

    def test_resources_have_requests_and_limits(self, objects):
        for deployment in of_kind(objects, "Deployment").values():
            resources = container(deployment)["resources"]
            assert set(resources["requests"]) == {"cpu", "memory"}
            assert set(resources["limits"]) == {"cpu", "memory"}

    def test_grace_period_outlasts_the_sigterm_handling(self, objects):
        for deployment in of_kind(objects, "Deployment").values():
            pod = deployment["spec"]["template"]["spec"]
            pre_stop = container(deployment).get("lifecycle", {}).get("preStop", {})
            pause = pre_stop.get("sleep", {}).get("seconds", 0)
            assert pod["terminationGracePeriodSeconds"] > pause + STOP_WITHIN > GRACEFUL_TIMEOUT

    def test_pods_run_as_the_images_non_root_user_read_only(self, objects):
        for deployment in of_kind(objects, "Deployment").values():
            pod = deployment["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True
            assert pod["securityContext"]["runAsUser"] == 10001
            assert container(deployment)["securityContext"]["readOnlyRootFilesystem"] is True

    def test_secrets_come_from_the_generated_secret_and_name_real_settings(self, objects):
        [secret] = of_kind(objects, "Secret").values()
        [config] = of_kind(objects, "ConfigMap").values()

        assert set(secret["data"]) >= SECRET_NAMES
        for service, deployment in of_kind(objects, "Deployment").items():
            known = service_env_names(service)
            for variable in container(deployment)["env"]:
                ref = variable["valueFrom"]["secretKeyRef"]
                assert ref["name"] == secret["metadata"]["name"]
                assert ref["key"] in secret["data"]
                assert variable["name"] in known, (service, variable["name"])
            [source] = container(deployment)["envFrom"]
            assert source["configMapRef"]["name"] == config["metadata"]["name"]
        config_names = set(config["data"])
        assert config_names <= set().union(*map(service_env_names, SERVICES))

    def test_placeholder_secrets_are_not_usable_keys(self, objects):
        [secret] = of_kind(objects, "Secret").values()

        for value in secret["data"].values():
            assert "REPLACE-ME" in base64.b64decode(value).decode()


class TestAvailability:
    def test_a_disruption_budget_covers_each_service(self, objects):
        budgets = of_kind(objects, "PodDisruptionBudget")
        for service, deployment in of_kind(objects, "Deployment").items():
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            [budget] = [
                b for b in budgets.values() if selects(b["spec"]["selector"]["matchLabels"], labels)
            ]
            assert budget["spec"]["maxUnavailable"] == 1, service

    def test_keda_scales_dumper_and_uploader_on_their_queues(self, objects):
        topology = Topology("databasement", delivery_limit=5)
        [config] = of_kind(objects, "ConfigMap").values()
        auth = of_kind(objects, "TriggerAuthentication")
        [secret] = of_kind(objects, "Secret").values()
        scaled = of_kind(objects, "ScaledObject")

        assert config["data"]["BROKER_NAMESPACE"] == topology.namespace
        assert set(scaled) == {"dumper", "uploader"}
        for service, obj in scaled.items():
            assert obj["spec"]["scaleTargetRef"]["name"] in of_kind(objects, "Deployment")
            [trigger] = obj["spec"]["triggers"]
            assert trigger["metadata"]["queueName"] == topology.queue(service).name
            [ref] = auth[trigger["authenticationRef"]["name"]]["spec"]["secretTargetRef"]
            assert (ref["name"], ref["key"]) == (secret["metadata"]["name"], "BROKER_URL")


class TestIngress:
    def test_only_the_api_is_reachable_from_the_ingress_controller(self, objects):
        policies = of_kind(objects, "NetworkPolicy").values()
        reachable = set()
        for service, deployment in of_kind(objects, "Deployment").items():
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            applying = [
                p for p in policies if selects(p["spec"]["podSelector"]["matchLabels"], labels)
            ]
            assert any(not p["spec"].get("ingress") for p in applying), f"{service}: no deny"
            sources = [
                source
                for p in applying
                for rule in p["spec"].get("ingress", [])
                for source in rule["from"]
            ]
            namespaces = {
                s["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                for s in sources
            }
            if "ingress-nginx" in namespaces:
                reachable.add(service)

        assert reachable == {"api"}

    def test_the_ingress_routes_to_the_api_service_and_its_pods(self, objects):
        [ingress] = of_kind(objects, "Ingress").values()
        [rule] = ingress["spec"]["rules"]
        api_labels = of_kind(objects, "Deployment")["api"]["spec"]["template"]["metadata"]["labels"]

        for path in rule["http"]["paths"]:
            service = of_kind(objects, "Service")[path["backend"]["service"]["name"]]
            assert selects(service["spec"]["selector"], api_labels)
            assert path["backend"]["service"]["port"] == {"name": "http"}
        assert (
            ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
            == "1m"
        )

    @pytest.mark.parametrize(
        "private", ["/metrics", "/docs", "/openapi.json", "/readyz", "/healthz", "/redoc"]
    )
    def test_the_ingress_routes_only_the_api_and_the_ui(self, objects, private):
        [ingress] = of_kind(objects, "Ingress").values()
        [rule] = ingress["spec"]["rules"]
        paths = rule["http"]["paths"]

        assert {(p["path"], p["pathType"]) for p in paths} == {
            ("/api", "Prefix"),
            ("/ui", "Prefix"),
        }
        # A Prefix path matches whole segments: /api matches /api/v1, never /apix or /metrics.
        assert not any(
            private == p["path"] or private.startswith(p["path"].rstrip("/") + "/") for p in paths
        )

    def test_api_metrics_are_on_their_own_port_scraped_from_monitoring_only(self, objects):
        services = of_kind(objects, "Service")
        [config] = of_kind(objects, "ConfigMap").values()
        api = of_kind(objects, "Deployment")["api"]
        labels = api["spec"]["template"]["metadata"]["labels"]
        annotations = api["spec"]["template"]["metadata"]["annotations"]
        monitoring = of_kind(objects, "NetworkPolicy")["metrics-from-monitoring"]
        from_ingress = of_kind(objects, "NetworkPolicy")["api-from-ingress-controller"]

        assert config["data"]["API_METRICS_PORT"] == str(METRICS_PORT)
        assert annotations["prometheus.io/port"] == str(METRICS_PORT)
        assert [p["name"] for p in services["api"]["spec"]["ports"]] == ["http"]
        scrape = services["api-metrics"]
        assert selects(scrape["spec"]["selector"], labels)
        assert scrape["metadata"]["annotations"]["prometheus.io/port"] == str(METRICS_PORT)
        assert [p["targetPort"] for p in scrape["spec"]["ports"]] == ["metrics"]
        assert {"port": "metrics", "protocol": "TCP"} in monitoring["spec"]["ingress"][0]["ports"]
        assert [p["port"] for p in from_ingress["spec"]["ingress"][0]["ports"]] == ["http"]

    def test_metrics_services_select_each_worker(self, objects):
        services = of_kind(objects, "Service")
        for worker in ("dumper", "uploader", "catalog"):
            deployment = of_kind(objects, "Deployment")[worker]
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            assert selects(services[f"{worker}-metrics"]["spec"]["selector"], labels)


class TestOverlays:
    def test_prod_pins_the_image_scales_the_api_and_terminates_tls(self):
        prod, dev = render("prod"), render("dev")

        def images(objects: list[dict[str, Any]]) -> set[str]:
            return {container(d)["image"] for d in of_kind(objects, "Deployment").values()}

        [prod_image], [dev_image] = images(prod), images(dev)
        assert not prod_image.endswith(":latest")
        assert prod_image != dev_image
        assert of_kind(prod, "Deployment")["api"]["spec"]["replicas"] == 3
        assert of_kind(dev, "Deployment")["api"]["spec"]["replicas"] == 1
        [prod_ingress], [dev_ingress] = (
            of_kind(prod, "Ingress").values(),
            of_kind(dev, "Ingress").values(),
        )
        [tls] = prod_ingress["spec"]["tls"]
        assert tls["hosts"] == [prod_ingress["spec"]["rules"][0]["host"]]
        assert "tls" not in dev_ingress["spec"]

    def test_prod_marks_the_session_cookie_secure_and_reaches_staging_over_tls(self):
        """Behind the Ingress's TLS the cookie must not travel in clear, nor staged chunks."""
        [prod_config] = of_kind(render("prod"), "ConfigMap").values()
        [dev_config] = of_kind(render("dev"), "ConfigMap").values()

        assert prod_config["data"]["API_UI_SECURE_COOKIE"] == "true"
        assert prod_config["data"]["STAGING_S3_SECURE"] == "true"
        assert prod_config["data"]["STAGING_KIND"] == "s3"
        assert dev_config["data"].get("API_UI_SECURE_COOKIE", "false") == "false"
