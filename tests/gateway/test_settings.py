"""Settings: flag > env > config file > default; unsafe settings refuse to start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from blender_http_gateway.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("BLENDER_HTTP_"):
            monkeypatch.delenv(name)


def test_defaults_and_comma_separated_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLENDER_HTTP_GATEWAY_BACKENDS", "http://w1:7777, w2:7777/")
    settings = load_settings()
    assert settings.backends == ["http://w1:7777", "http://w2:7777"]
    assert (settings.host, settings.port, settings.dns_interval, settings.mode) == (
        "127.0.0.1", 8000, 10.0, "module")


def test_flag_beats_env_beats_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('port = 9001\nhost = "127.0.0.1"\nbackends = ["http://from-file:1"]\n'
                      'dns_interval = 3\nspawn = 2\n')
    monkeypatch.setenv("BLENDER_HTTP_GATEWAY_CONFIG", str(config))
    from_file = load_settings()
    assert (from_file.port, from_file.backends, from_file.dns_interval, from_file.spawn) == (
        9001, ["http://from-file:1"], 3.0, 2)
    monkeypatch.setenv("BLENDER_HTTP_GATEWAY_PORT", "9002")
    assert load_settings().port == 9002
    assert load_settings(port=9003).port == 9003


def test_api_keys_from_env_and_file_and_token_from_file(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    keys = tmp_path / "keys"
    keys.write_text("# team keys\nkey-from-file-1-8a2f\n\nkey-from-file-2-8a2f\n")
    token = tmp_path / "token"
    token.write_text("the-worker-token\n")
    monkeypatch.setenv("BLENDER_HTTP_API_KEYS", "env-key-1-3c9d0e7b,env-key-2-3c9d0e7b")
    monkeypatch.setenv("BLENDER_HTTP_API_KEYS_FILE", str(keys))
    monkeypatch.setenv("BLENDER_HTTP_TOKEN_FILE", str(token))
    settings = load_settings(backends=["http://w:1"])
    assert settings.all_api_keys() == ("env-key-1-3c9d0e7b", "env-key-2-3c9d0e7b",
                                       "key-from-file-1-8a2f", "key-from-file-2-8a2f")
    assert settings.backend_token() == "the-worker-token"
    monkeypatch.setenv("BLENDER_HTTP_TOKEN", "direct")
    assert load_settings(backends=["http://w:1"]).backend_token() == "direct"


def test_unsafe_or_incomplete_settings_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError, match="no backends"):
        load_settings()
    with pytest.raises(SettingsError, match="without an API key"):
        load_settings(backends=["http://w:1"], host="0.0.0.0")
    monkeypatch.setenv("BLENDER_HTTP_API_KEYS", "changeme")
    with pytest.raises(SettingsError, match="placeholder"):
        load_settings(backends=["http://w:1"])
    monkeypatch.setenv("BLENDER_HTTP_API_KEYS", "a-real-key-0b9c7d")
    assert load_settings(backends=["http://w:1"], host="0.0.0.0").host == "0.0.0.0"
    with pytest.raises(SettingsError, match="mode"):
        load_settings(spawn=1, mode="gui")
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(backends=["http://w:1"], config="/nonexistent/gateway.toml")


def test_cli_exits_2_on_unsafe_settings() -> None:
    env = {"PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "blender_http_gateway", "--backend", "http://w:1",
                           "--host", "0.0.0.0"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2
    assert "without an API key" in done.stderr


def test_short_api_keys_are_refused_like_placeholders(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLENDER_HTTP_API_KEYS", "a-real-key-0b9c7d,k2")
    with pytest.raises(SettingsError, match="shorter than 16 characters"):
        load_settings(backends=["http://w:1"])
    keys = tmp_path / "keys"
    keys.write_text("fifteen-chars-x\n")
    monkeypatch.setenv("BLENDER_HTTP_API_KEYS", "a-real-key-0b9c7d")
    monkeypatch.setenv("BLENDER_HTTP_API_KEYS_FILE", str(keys))
    with pytest.raises(SettingsError, match="shorter than 16 characters"):
        load_settings(backends=["http://w:1"])
    keys.write_text("sixteen-chars-xx\n")
    assert load_settings(backends=["http://w:1"]).all_api_keys()[-1] == "sixteen-chars-xx"


def test_cli_exits_2_on_a_short_key() -> None:
    env = {"PATH": "/usr/bin:/bin", "BLENDER_HTTP_API_KEYS": "ab"}
    done = subprocess.run([sys.executable, "-m", "blender_http_gateway", "--backend", "http://w:1"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2
    assert "shorter than 16 characters" in done.stderr


def test_workers_need_backends_not_spawn() -> None:
    with pytest.raises(SettingsError, match="--workers N cannot be combined with --spawn"):
        load_settings(spawn=1, workers=2)
    assert load_settings(backends=["http://w:1"], workers=3).workers == 3


def test_an_empty_token_file_is_refused_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "token").write_text("\n")
    monkeypatch.setenv("BLENDER_HTTP_TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.delenv("BLENDER_HTTP_TOKEN", raising=False)
    with pytest.raises(SettingsError, match="empty"):
        load_settings(backends=["http://w:1"])
