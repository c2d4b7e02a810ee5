"""The deployment files agree with the code and with each other.

Docker cannot run on the test machines, so these tests read compose.yaml
and the Dockerfile as data, and check the Caddyfile with `caddy adapt`,
which parses it exactly as Caddy does at start.
"""

import dataclasses
import ipaddress
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dockerfile
import pytest
import yaml

from server.health import LIVENESS_PATH
from server.settings import Settings, env_name

ROOT = Path(__file__).parent.parent
COMPOSE_FILE = ROOT / "compose.yaml"
CADDYFILE = ROOT / "Caddyfile"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

REQUIRED_SERVICES = ("caddy", "app1", "app2", "worker", "postgres", "redis")
APP_SERVICES = ("app1", "app2")
DROPSPACE_SERVICES = (*APP_SERVICES, "worker")
# What an operator puts in .env, following the header of compose.yaml.
OPERATOR_ENV = {"POSTGRES_PASSWORD": "s3cretPassw0rd", "SITE_ADDRESS": "drop.example"}
COMPILER_PACKAGES = frozenset(
    {"gcc", "g++", "cc", "clang", "make", "cmake", "build-essential", "libc6-dev"}
)

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}
_INTERPOLATION = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


class MissingVariable(Exception):
    """A `${NAME:?message}` reference to a variable that is not set."""


def interpolate(value: str, environ: Mapping[str, str]) -> str:
    """Substitute variables in a compose value as `docker compose` does."""

    def substitute(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        found = environ.get(name)
        unset = found is None or (found == "" and operator in {":-", ":?"})
        if not unset:
            return str(found)
        if operator in {":?", "?"}:
            raise MissingVariable(f"{name}: {argument}")
        if operator in {":-", "-"}:
            return str(argument)
        return ""

    return _INTERPOLATION.sub(substitute, value.replace("$$", "\0")).replace("\0", "$")


def load_compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return compose


def service_environment(
    service: dict[str, Any], environ: Mapping[str, str] = OPERATOR_ENV
) -> dict[str, str]:
    """Return a service's environment with variables substituted."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {name: interpolate(str(value), environ) for name, value in raw.items()}


def service_settings(name: str) -> Settings:
    environ = service_environment(load_compose()["services"][name])
    return Settings.from_env(environ)


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Yield every JSON object nested anywhere in `node`."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


# compose.yaml


def test_compose_sets_only_known_settings() -> None:
    known = {env_name(item.name) for item in dataclasses.fields(Settings)}
    for name, service in load_compose()["services"].items():
        for variable in service_environment(service):
            if variable.startswith("DROPSPACE_"):
                assert variable in known, f"{name} sets {variable}, read by no code"


def test_compose_settings_parse() -> None:
    for name in DROPSPACE_SERVICES:
        settings = service_settings(name)
        assert settings.data_dir == Path("/data"), name


def test_compose_has_required_services() -> None:
    services = load_compose()["services"]
    for name in REQUIRED_SERVICES:
        assert name in services, f"compose.yaml has no {name} service"


def test_compose_services_have_healthchecks() -> None:
    services = load_compose()["services"]
    for name in REQUIRED_SERVICES:
        healthcheck = services[name].get("healthcheck")
        assert healthcheck, f"{name} has no healthcheck"
        assert not healthcheck.get("disable"), f"{name} disables its healthcheck"
        assert healthcheck["test"][0] in {"CMD", "CMD-SHELL"}, name


def test_compose_healthchecks_name_real_modules() -> None:
    services = load_compose()["services"]
    for name in DROPSPACE_SERVICES:
        test = services[name]["healthcheck"]["test"]
        assert test[1:4] == ["python", "-m", "server.healthcheck"], name
    assert services["worker"]["healthcheck"]["test"][4] == "worker"


def test_compose_commands() -> None:
    services = load_compose()["services"]
    for name in APP_SERVICES:
        assert services[name]["command"] == ["dropspace", "serve"], name
    assert services["worker"]["command"] == ["dropspace", "worker"]
    assert services["migrate"]["command"] == ["dropspace", "migrate"]


def test_compose_app_and_worker_share_data() -> None:
    compose = load_compose()
    assert "data" in compose["volumes"]
    for name in DROPSPACE_SERVICES:
        data_dir = service_settings(name).data_dir
        volumes = compose["services"][name]["volumes"]
        assert f"data:{data_dir}" in volumes, f"{name} does not mount data"


def test_compose_named_volumes() -> None:
    compose = load_compose()
    services = compose["services"]
    assert {"data", "postgres", "caddy"} <= set(compose["volumes"])
    assert "postgres:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "caddy:/data" in services["caddy"]["volumes"]
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in services["caddy"]["volumes"]


def test_compose_database_url_points_at_postgres() -> None:
    postgres = service_environment(load_compose()["services"]["postgres"])
    for name in (*DROPSPACE_SERVICES, "migrate"):
        url = urlsplit(service_settings(name).database_url)
        assert url.scheme == "postgresql+asyncpg", name
        assert url.hostname == "postgres", name
        assert url.port == 5432, name
        assert url.username == postgres["POSTGRES_USER"], name
        assert url.password == postgres["POSTGRES_PASSWORD"], name
        assert url.path == f"/{postgres['POSTGRES_DB']}", name


def test_compose_redis_url_points_at_redis() -> None:
    for name in DROPSPACE_SERVICES:
        url = urlsplit(service_settings(name).redis_url)
        assert url.scheme == "redis", name
        assert url.hostname == "redis", name
        assert url.port == 6379, name


def test_compose_password_has_no_default() -> None:
    services = load_compose()["services"]
    without_password = {"SITE_ADDRESS": "drop.example"}
    for name in ("postgres", *DROPSPACE_SERVICES):
        with pytest.raises(MissingVariable):
            service_environment(services[name], without_password)


def test_compose_public_url_is_caddy_site() -> None:
    caddy = service_environment(load_compose()["services"]["caddy"])
    for name in APP_SERVICES:
        public_url = service_settings(name).public_url
        assert public_url == f"https://{caddy['SITE_ADDRESS']}", name


def test_compose_waits_for_healthy_services() -> None:
    services = load_compose()["services"]
    for name in DROPSPACE_SERVICES:
        depends_on = services[name]["depends_on"]
        assert depends_on["postgres"]["condition"] == "service_healthy", name
        assert depends_on["redis"]["condition"] == "service_healthy", name
        assert depends_on["migrate"]["condition"] == (
            "service_completed_successfully"
        ), name
    for name in APP_SERVICES:
        condition = services["caddy"]["depends_on"][name]["condition"]
        assert condition == "service_healthy", name


def test_compose_trusts_caddy_alone_as_proxy() -> None:
    compose = load_compose()
    caddy = compose["services"]["caddy"]["networks"]["default"]["ipv4_address"]
    address = ipaddress.ip_address(caddy)
    (pool,) = compose["networks"]["default"]["ipam"]["config"]
    subnet = ipaddress.ip_network(pool["subnet"])
    # Docker's gateway is the host, where anyone could forge the headers.
    gateway = next(subnet.hosts())
    assert address in subnet
    for name in APP_SERVICES:
        networks = service_settings(name).trusted_proxy_networks
        assert any(address in network for network in networks), name
        assert not any(gateway in network for network in networks), name


def test_compose_publishes_only_caddy() -> None:
    for name, service in load_compose()["services"].items():
        if name != "caddy":
            assert "ports" not in service, f"{name} publishes ports"


# Caddyfile


def adapt_caddyfile(**environ: str) -> tuple[dict[str, Any], str]:
    """Return the JSON config that Caddy builds from the Caddyfile, and stderr."""
    caddy = shutil.which("caddy")
    assert caddy, "caddy is not installed; `make test` installs Debian's package"
    result = subprocess.run(  # noqa: S603
        [caddy, "adapt", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), **environ},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = json.loads(result.stdout)
    return config, result.stderr


def reverse_proxies(config: dict[str, Any]) -> list[dict[str, Any]]:
    return [node for node in walk(config) if node.get("handler") == "reverse_proxy"]


def test_caddyfile_adapts_without_warnings() -> None:
    _, stderr = adapt_caddyfile()
    assert "WARN" not in stderr, stderr


def test_caddyfile_proxies_to_both_apps() -> None:
    port = service_settings("app1").port
    (proxy,) = reverse_proxies(adapt_caddyfile()[0])
    dials = [upstream["dial"] for upstream in proxy["upstreams"]]
    assert sorted(dials) == [f"{name}:{port}" for name in APP_SERVICES]


def test_caddyfile_checks_app_health() -> None:
    (proxy,) = reverse_proxies(adapt_caddyfile()[0])
    active = proxy["health_checks"]["active"]
    # Liveness: a process whose database is down still returns its own 503.
    assert active["uri"] == LIVENESS_PATH
    assert active["expect_status"] == 200


def test_caddyfile_has_no_body_limit() -> None:
    config, _ = adapt_caddyfile()
    for node in walk(config):
        assert node.get("handler") != "request_body", node
        assert "max_size" not in node, node


def test_caddyfile_serves_https() -> None:
    config, _ = adapt_caddyfile()
    (server,) = config["apps"]["http"]["servers"].values()
    assert server["listen"] == [":443"]


def site_hosts(config: dict[str, Any]) -> set[str]:
    """Return the host names that the routes match.

    The site's routes and its error routes (handle_errors) match the same
    host, so each name appears more than once.
    """
    return {host for node in walk(config) for host in node.get("host", [])}


def test_caddyfile_site_from_environment() -> None:
    config, _ = adapt_caddyfile(SITE_ADDRESS=OPERATOR_ENV["SITE_ADDRESS"])
    assert site_hosts(config) == {OPERATOR_ENV["SITE_ADDRESS"]}


def test_caddyfile_default_site_is_localhost() -> None:
    config, _ = adapt_caddyfile()
    assert site_hosts(config) == {"localhost"}


# Dockerfile


def dockerfile_stages() -> list[list[dockerfile.Command]]:
    """Return the Dockerfile's instructions grouped by build stage."""
    stages: list[list[dockerfile.Command]] = []
    for command in dockerfile.parse_file(str(DOCKERFILE)):
        if command.cmd == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(command)
    return stages


def instructions(stage: list[dockerfile.Command], name: str) -> list[Any]:
    return [command for command in stage if command.cmd == name]


def final_stage_environment() -> dict[str, str]:
    """Return the variables that ENV instructions of the final stage set."""
    environment: dict[str, str] = {}
    for command in instructions(dockerfile_stages()[-1], "ENV"):
        names, values = command.value[::2], command.value[1::2]
        environment.update(zip(names, values, strict=True))
    return environment


def test_dockerfile_is_multi_stage() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2
    build_runs = " ".join(run.value[0] for run in instructions(stages[0], "RUN"))
    assert "build --wheel" in build_runs


def test_dockerfile_base_is_slim_python_311() -> None:
    arguments = [
        command.value[0]
        for command in dockerfile.parse_file(str(DOCKERFILE))
        if command.cmd == "ARG"
    ]
    assert "PYTHON_IMAGE=python:3.11-slim-bookworm" in arguments
    for stage in dockerfile_stages():
        assert stage[0].value[0] == "${PYTHON_IMAGE}"


def test_dockerfile_runs_as_non_root() -> None:
    final = dockerfile_stages()[-1]
    users = instructions(final, "USER")
    assert users, "the final stage has no USER"
    user = users[-1].value[0].split(":")[0]
    assert user not in {"root", "0"}


def test_dockerfile_has_healthcheck() -> None:
    final = dockerfile_stages()[-1]
    (healthcheck,) = instructions(final, "HEALTHCHECK")
    assert healthcheck.json
    assert list(healthcheck.value) == ["CMD", "python", "-m", "server.healthcheck"]


def test_dockerfile_final_stage_has_no_compilers() -> None:
    final = dockerfile_stages()[-1]
    for run in instructions(final, "RUN"):
        words = set(re.split(r"[\s;&|]+", run.value[0]))
        assert not words & COMPILER_PACKAGES, run.original


def test_dockerfile_installs_built_wheels_offline() -> None:
    final = dockerfile_stages()[-1]
    runs = [run.original for run in instructions(final, "RUN")]
    assert any("--mount=type=bind,from=build" in run for run in runs), runs
    assert any("pip install --no-index" in run for run in runs), runs


def test_dockerfile_serves_and_stores_in_volume() -> None:
    final = dockerfile_stages()[-1]
    (command,) = instructions(final, "CMD")
    assert command.json
    assert list(command.value) == ["dropspace", "serve"]
    (volume,) = instructions(final, "VOLUME")
    assert list(volume.value) == [final_stage_environment()["DROPSPACE_DATA_DIR"]]


def test_dockerfile_sets_only_known_settings() -> None:
    known = {env_name(item.name) for item in dataclasses.fields(Settings)}
    environment = final_stage_environment()
    for variable in environment:
        if variable.startswith("DROPSPACE_"):
            assert variable in known, f"the image sets {variable}, read by no code"
    assert Settings.from_env(environment).port == 8080


def test_dockerignore_admits_every_copied_path() -> None:
    admitted = {
        line[1:]
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.startswith("!")
    }
    build = dockerfile_stages()[0]
    for copy in instructions(build, "COPY"):
        for source in copy.value[:-1]:
            assert source in admitted, f"{source} is left out of the build context"
            assert (ROOT / source).exists(), source
