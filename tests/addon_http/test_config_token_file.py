"""Config.from_env: the token from BLENDER_HTTP_TOKEN_FILE (a container secret)."""

from __future__ import annotations

from pathlib import Path

import pytest

from blender_http_addon.config import Config, ConfigError


def token_file(folder: Path, text: str) -> str:
    path = folder / "token"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("text", ["s3cret\n", "s3cret\r\n", "s3cret", "  s3cret \n\n"])
def test_the_token_is_read_from_the_file_without_its_newline(tmp_path: Path, text: str) -> None:
    config = Config.from_env({"BLENDER_HTTP_TOKEN_FILE": token_file(tmp_path, text)})
    assert config.token == "s3cret"


def test_a_token_from_the_file_allows_binding_every_address(tmp_path: Path) -> None:
    config = Config.from_env({"BLENDER_HTTP_HOST": "0.0.0.0",
                              "BLENDER_HTTP_TOKEN_FILE": token_file(tmp_path, "s3cret\n")})
    config.validate()


def test_the_token_variable_wins_over_the_file(tmp_path: Path) -> None:
    env = {"BLENDER_HTTP_TOKEN": "direct", "BLENDER_HTTP_TOKEN_FILE": token_file(tmp_path, "filed")}
    assert Config.from_env(env).token == "direct"


def test_an_explicit_token_wins_and_the_file_is_not_read(tmp_path: Path) -> None:
    env = {"BLENDER_HTTP_TOKEN_FILE": str(tmp_path / "absent")}
    assert Config.from_env(env, token="flag").token == "flag"


def test_the_file_wins_over_the_base(tmp_path: Path) -> None:
    env = {"BLENDER_HTTP_TOKEN_FILE": token_file(tmp_path, "filed\n")}
    assert Config.from_env(env, base=Config(token="preferences")).token == "filed"


def test_an_empty_variable_means_no_file() -> None:
    assert Config.from_env({"BLENDER_HTTP_TOKEN_FILE": ""}).token is None


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "absent"
    with pytest.raises(ConfigError, match=r"BLENDER_HTTP_TOKEN_FILE=.*absent.*No such file"):
        Config.from_env({"BLENDER_HTTP_TOKEN_FILE": str(path)})


def test_a_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="BLENDER_HTTP_TOKEN_FILE"):
        Config.from_env({"BLENDER_HTTP_TOKEN_FILE": str(tmp_path)})


def test_a_file_that_is_not_text_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="BLENDER_HTTP_TOKEN_FILE"):
        Config.from_env({"BLENDER_HTTP_TOKEN_FILE": str(path)})


@pytest.mark.parametrize("text", ["", "\n", "  \n"])
def test_an_empty_file_is_a_config_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match="empty"):
        Config.from_env({"BLENDER_HTTP_TOKEN_FILE": token_file(tmp_path, text)})
