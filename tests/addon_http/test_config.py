"""config.Config: defaults, from_env parsing and overrides, validate."""

from __future__ import annotations

import math

import pytest

from blender_http_addon.config import MIB, Config, ConfigError, is_loopback


def test_defaults_follow_the_spec() -> None:
    config = Config()
    assert (config.host, config.port, config.token) == ("127.0.0.1", 7777, None)
    assert config.max_body_bytes == 16 * MIB
    assert config.max_queue == 64
    assert config.max_output_bytes == 1 * MIB
    assert config.job_retention == 1000
    config.validate()


def test_from_env_parses_every_kind() -> None:
    config = Config.from_env({
        "BLENDER_HTTP_HOST": "0.0.0.0",
        "BLENDER_HTTP_PORT": "8000",
        "BLENDER_HTTP_TOKEN": "s3cret",
        "BLENDER_HTTP_ALLOWED_HOSTS": " a.example, b.example ,,",
        "BLENDER_HTTP_IDLE_TIMEOUT": "1.5",
        "BLENDER_HTTP_MAX_QUEUE": "3",
        "BLENDER_HTTP_WORKDIR": "/tmp/w",
        "UNRELATED": "x",
    })
    assert (config.host, config.port, config.token) == ("0.0.0.0", 8000, "s3cret")
    assert config.allowed_hosts == ("a.example", "b.example")
    assert config.idle_timeout == 1.5
    assert config.max_queue == 3
    assert config.workdir == "/tmp/w"
    config.validate()


def test_empty_env_values_mean_not_set() -> None:
    assert Config.from_env({"BLENDER_HTTP_PORT": "", "BLENDER_HTTP_TOKEN": ""}) == Config()


def test_from_env_layers_base_env_and_overrides() -> None:
    base = Config(port=1000, token="base")
    env = {"BLENDER_HTTP_PORT": "2000"}
    assert Config.from_env(env, base=base).port == 2000
    assert Config.from_env(env, base=base).token == "base"
    assert Config.from_env(env, base=base, port=3000).port == 3000
    assert Config.from_env(env, base=base, port=None).port == 2000


def test_from_env_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLENDER_HTTP_PORT", "4321")
    assert Config.from_env().port == 4321


@pytest.mark.parametrize(("name", "raw"), [
    ("PORT", "abc"), ("PORT", "7777.0"), ("MAX_QUEUE", "many"), ("IDLE_TIMEOUT", "soon"),
])
def test_bad_numbers_in_env_are_config_errors(name: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=f"BLENDER_HTTP_{name}"):
        Config.from_env({f"BLENDER_HTTP_{name}": raw})


def test_replace_ignores_none() -> None:
    assert Config().replace(port=None, token="t") == Config(token="t")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com"])
def test_validate_refuses_a_non_loopback_host_without_a_token(host: str) -> None:
    with pytest.raises(ConfigError, match="token"):
        Config(host=host).validate()
    Config(host=host, token="t").validate()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.5", "localhost", "::1", "[::1]"])
def test_loopback_hosts_need_no_token(host: str) -> None:
    assert is_loopback(host)
    Config(host=host).validate()


@pytest.mark.parametrize("changes", [
    {"port": -1}, {"port": 65536}, {"token": ""}, {"token": "   "},
    {"max_body_bytes": 0}, {"max_file_bytes": 0}, {"max_queue": 0}, {"max_output_bytes": -1},
    {"job_retention": 0}, {"max_connections": 0}, {"idle_timeout": 0}, {"request_timeout": -1.0},
])
def test_validate_refuses_bad_numbers(changes: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        Config(**changes).validate()  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["idle_timeout", "request_timeout"])
@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_validate_refuses_non_finite_timeouts(name: str, value: float) -> None:
    with pytest.raises(ConfigError):
        Config(**{name: value}).validate()  # type: ignore[arg-type]


def test_port_zero_is_allowed() -> None:
    Config(port=0).validate()


def test_mcp_settings_from_env_and_unknown_tools_refused_at_start() -> None:
    from blender_http_addon.service import Service

    config = Config.from_env({"BLENDER_HTTP_MCP_READ_ONLY": "yes",
                              "BLENDER_HTTP_MCP_TOOLS": "get_scene, blender_info",
                              "BLENDER_HTTP_MCP_EXCLUDE_TOOLS": "blender_info"})
    assert config.mcp_read_only is True
    assert (config.mcp_tools, config.mcp_exclude_tools) == (("get_scene", "blender_info"), ("blender_info",))
    with pytest.raises(ConfigError, match="BLENDER_HTTP_MCP_EXCLUDE_TOOLS: no MCP tool is named exec"):
        Service(Config(mcp_exclude_tools=("exec",)), mode="module")
