"""deploy/compose.yaml against the compose-spec JSON schema, and against the code it runs.

No Docker engine runs here, so the file is validated, not started: with the compose-spec
schema that check-jsonschema ships (`check_jsonschema.builtin_schemas.vendor`, Apache-2.0,
from github.com/compose-spec/compose-spec), then for what the schema cannot know.
"""

import copy
import importlib.resources
import json
import re
from typing import Any

import jsonschema
import pytest
import yaml

from tests.integration.deploy.manifests import (
    CONTAINER_PORT,
    DEPLOY,
    SERVICES,
    any_service_env_names,
)

COMPOSE = DEPLOY / "compose.yaml"
REQUIRED_VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*):\?[^}]*\}")
STAGING = "/var/lib/databasement/staging"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    loaded: dict[str, Any] = json.loads(vendor.joinpath("compose-spec.json").read_text())
    return loaded


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def problems(schema: dict[str, Any], document: dict[str, Any]) -> list[str]:
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


class TestComposeSchema:
    def test_compose_file_is_valid_compose_spec(self, schema, compose):
        assert problems(schema, compose) == []

    def test_schema_catches_a_broken_file(self, schema, compose):
        """The validation can fail: a misspelt key and an unknown condition are reported."""
        broken = copy.deepcopy(compose)
        broken["services"]["dumper"]["depends_on"]["rabbitmq"]["condition"] = "service_happy"
        broken["services"]["api"]["helthcheck"] = {}

        found = problems(schema, broken)

        assert any(p.startswith("services/dumper/depends_on") for p in found), found
        assert any("helthcheck" in p for p in found), found


class TestComposeStack:
    def test_runs_the_servers_the_four_services_and_the_gateway(self, compose):
        assert set(compose["services"]) == {
            "rabbitmq",
            "postgres",
            "s3",
            *SERVICES,
            "gateway",
        }
        assert "seaweedfs" in compose["services"]["s3"]["image"]
        assert "-s3" in compose["services"]["s3"]["command"]

    def test_each_service_runs_its_own_module_from_the_one_image(self, compose):
        images = set()
        for service in SERVICES:
            spec = compose["services"][service]
            assert spec["command"] == ["python", "-m", f"services.{service}"]
            assert spec["build"]["dockerfile"] == "deploy/Dockerfile"
            images.add(spec["image"])
        assert len(images) == 1

    def test_dumper_uploader_and_api_run_two_replicas(self, compose):
        for service in ("dumper", "uploader", "api"):
            assert compose["services"][service]["deploy"]["replicas"] == 2

    def test_every_container_has_a_healthcheck_and_waits_for_healthy_dependencies(self, compose):
        services = compose["services"]
        for name, spec in services.items():
            assert spec.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
            for dependency, condition in spec.get("depends_on", {}).items():
                assert dependency in services, (name, dependency)
                assert condition == {"condition": "service_healthy"}, (name, dependency)
        for service in SERVICES:
            assert {"rabbitmq", "postgres"} <= set(services[service]["depends_on"])
            assert f":{CONTAINER_PORT}/readyz" in " ".join(services[service]["healthcheck"]["test"])
        assert "api" in services["gateway"]["depends_on"]

    def test_dumper_and_uploader_share_one_staging_volume(self, compose):
        def staging_source(service: str) -> str:
            [source] = [
                v.split(":")[0]
                for v in compose["services"][service]["volumes"]
                if v.split(":")[1] == STAGING
            ]
            return source

        assert staging_source("dumper") == staging_source("uploader")
        assert staging_source("dumper") in compose["volumes"]

    def test_only_the_gateway_publishes_ports_and_only_the_api_shares_its_network(self, compose):
        services = compose["services"]
        published = {name for name, spec in services.items() if spec.get("ports")}
        on_frontend = {n for n, s in services.items() if "frontend" in s.get("networks", [])}

        assert published == {"gateway"}
        assert on_frontend == {"gateway", "api"}

    def test_gateway_mounts_the_shipped_nginx_config_and_reaches_the_api_by_name(self, compose):
        gateway = compose["services"]["gateway"]
        conf = (DEPLOY / "nginx" / "databasement.conf").read_text()

        assert any(v.startswith("./nginx/databasement.conf:") for v in gateway["volumes"])
        assert f"server api:{CONTAINER_PORT} " in conf
        secret_targets = {s["target"] for s in gateway["secrets"]}
        assert secret_targets == {"/etc/nginx/tls/tls.crt", "/etc/nginx/tls/tls.key"}
        for target in secret_targets:
            assert target in conf

    def test_every_required_variable_is_in_the_example_env_file(self):
        text = COMPOSE.read_text()
        example = (DEPLOY / "databasement.env.example").read_text()
        defined = {line.split("=", 1)[0] for line in example.splitlines() if "=" in line}

        required = set(REQUIRED_VARIABLE.findall(text))

        assert {"SEAL_KEY", "API_CREDENTIALS_KEY", "POSTGRES_PASSWORD"} <= required
        assert required <= defined, required - defined

    def test_service_environment_names_are_settings_the_services_read(self, compose):
        known = any_service_env_names()
        for service in SERVICES:
            names = set(compose["services"][service]["environment"])
            assert names <= known, names - known

    def test_secret_files_have_examples_and_are_not_committed(self, compose):
        example = json.loads((DEPLOY / "s3-identities.example.json").read_text())

        assert example["identities"][0]["credentials"][0]["secretKey"].startswith("replace")
        for secret in compose["secrets"].values():
            assert secret["file"].startswith("./secrets/")
            assert not (DEPLOY / secret["file"]).exists(), "a real secret is in the tree"

    def test_the_api_trusts_the_gateways_forwarded_for_which_names_only_the_client(self, compose):
        """The sign-in limits count X-Forwarded-For: the gateway must not pass on a forged one."""
        conf = (DEPLOY / "nginx" / "databasement.conf").read_text()
        api = compose["services"]["api"]

        assert api["environment"]["API_TRUSTED_PROXIES"] == "*"
        assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
        assert "$proxy_add_x_forwarded_for" not in conf
