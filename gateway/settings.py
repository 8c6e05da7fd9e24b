"""Every setting of the gateway in one object: flag > env > TOML config file > default."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from blender_http_addon.config import is_loopback, read_token_file

# Every log line of the gateway, its access log's among them (edge/access.py writes those
# itself where this is the format).
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

CONFIG_ENV = "BLENDER_HTTP_GATEWAY_CONFIG"
# Values people paste from examples; a gateway guarded by one of them is not guarded.
PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "changethis", "secret", "password", "token",
                                 "api-key", "apikey", "xxx", "example"})
# Shorter keys can be guessed; token_urlsafe(32) gives 43 characters.
MIN_KEY_LENGTH = 16
# A key listed as `read-only:<key>` reads, renders and exports but runs no code and changes
# neither the scene nor the work folder (edge/auth.py). A prefix, so one list (env, TOML, the
# keys file) holds both kinds, and a list without it means what it always meant: generated
# keys (token_urlsafe) never hold a colon.
READ_ONLY_PREFIX = "read-only:"


class SettingsError(ValueError):
    """A setting is invalid or unsafe; the gateway refuses to start."""


def _split(value: Any) -> Any:
    """A comma-separated string (env) or a list (TOML, flags) as a list of non-empty items."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else value
    return [str(item).strip() for item in items if str(item).strip()]


class GatewaySettings(BaseSettings):
    """The gateway's configuration; the CLI only builds it."""

    model_config = SettingsConfigDict(env_prefix="BLENDER_HTTP_GATEWAY_", extra="ignore",
                                      populate_by_name=True, frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    backends: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Seconds between DNS look-ups of backend names (a Kubernetes headless Service grows and shrinks).
    dns_interval: float = Field(10.0, gt=0)
    spawn: int = Field(0, ge=0, le=64)
    mode: Literal["module", "background"] = "module"
    config: Path | None = None
    # Seconds between health checks of every backend.
    health_interval: float = Field(1.0, gt=0)
    # Seconds to open a connection to a backend before it counts as unreachable.
    connect_timeout: float = Field(3.0, gt=0)
    # The Blender executable for --spawn N --mode background (default: $BLENDER_PATH or `blender`).
    blender: str | None = None
    log_level: str = "info"
    access_log: bool = True
    # Serve the Model Context Protocol endpoint at /mcp.
    mcp: bool = True
    # Seconds a job may run past its timeout (or a busy worker may leave /health unanswered)
    # before a spawned worker is killed and restarted, or another worker is routed around.
    kill_after: float = Field(30.0, gt=0)
    # Wrong API keys one client address may send in a burst before it gets 429 (then one more
    # every 6 s); a key it has used successfully before still passes meanwhile.
    auth_failures: int = Field(10, ge=1)
    # Gateway processes serving one port (each with its own connections to the workers).
    workers: int = Field(1, ge=1, le=64)

    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=AliasChoices("api_keys", "BLENDER_HTTP_API_KEYS"))
    api_keys_file: Path | None = Field(
        None, validation_alias=AliasChoices("api_keys_file", "BLENDER_HTTP_API_KEYS_FILE"))
    token: SecretStr | None = Field(None, validation_alias=AliasChoices("token", "BLENDER_HTTP_TOKEN"))
    token_file: Path | None = Field(
        None, validation_alias=AliasChoices("token_file", "BLENDER_HTTP_TOKEN_FILE"))
    # Pages on other origins allowed to call the gateway from a browser (its own always may).
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        validation_alias=AliasChoices("allowed_origins", "BLENDER_HTTP_ALLOWED_ORIGINS"))

    _split_lists = field_validator("backends", "api_keys", "allowed_origins", mode="before")(_split)

    @field_validator("backends")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        out = []
        for url in urls:
            url = url.rstrip("/")
            if "://" not in url:
                url = "http://" + url
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"backend {url!r} must be an http:// or https:// URL")
            out.append(url)
        return out

    @model_validator(mode="after")
    def _complete(self) -> GatewaySettings:
        if not self.backends and not self.spawn:
            raise ValueError("no backends: give --backend URL (repeatable) or --spawn N")
        for path in (self.api_keys_file, self.token_file, self.config):
            if path is not None and not path.is_file():
                raise ValueError(f"{path} is not a readable file")
        self.backend_token()  # an empty or unreadable token file is refused here, at start
        keys = self.all_api_keys()
        if any(key.lower() in PLACEHOLDER_SECRETS for key in keys):
            raise ValueError("an API key is a placeholder value: generate a real one "
                             "(python -c 'import secrets; print(secrets.token_urlsafe(32))')")
        if any(len(key) < MIN_KEY_LENGTH for key in keys):
            raise ValueError(f"an API key is shorter than {MIN_KEY_LENGTH} characters and could be "
                             "guessed: generate a real one "
                             "(python -c 'import secrets; print(secrets.token_urlsafe(32))')")
        if self.workers > 1 and self.spawn:
            raise ValueError("--workers N cannot be combined with --spawn: spawned workers belong "
                             "to one gateway process; run the workers apart and give --backend")
        if not keys and not is_loopback(self.host):
            raise ValueError(f"refusing to bind {self.host!r} without an API key: anyone who can "
                             "reach the port could run code. Set BLENDER_HTTP_API_KEYS (or "
                             "BLENDER_HTTP_API_KEYS_FILE), or bind 127.0.0.1.")
        return self

    def all_api_keys(self) -> tuple[str, ...]:
        """Every key, read-only ones among them (without their prefix), from the env/config
        list and the key file (one per line, # comments)."""
        return tuple(self._listed_keys())

    def read_only_api_keys(self) -> tuple[str, ...]:
        """The keys listed as `read-only:<key>` (without the prefix)."""
        return tuple(key for key, read_only in self._listed_keys().items() if read_only)

    def _listed_keys(self) -> dict[str, bool]:
        """Each key once, and whether it is read-only; a key listed both ways is refused."""
        entries = list(self.api_keys)
        if self.api_keys_file is not None:
            for line in self.api_keys_file.read_text().splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    entries.append(line)
        keys: dict[str, bool] = {}
        for entry in entries:
            read_only = entry.startswith(READ_ONLY_PREFIX)
            key = entry.removeprefix(READ_ONLY_PREFIX).strip() if read_only else entry
            if keys.get(key, read_only) != read_only:
                raise ValueError("an API key is listed both as read-only and as a full key: list "
                                 "it once")
            keys[key] = read_only
        return keys

    def backend_token(self) -> str | None:
        """The token the workers expect (never shown to clients)."""
        if self.token is not None and self.token.get_secret_value().strip():
            return self.token.get_secret_value().strip()
        if self.token_file is not None:
            return read_token_file(str(self.token_file))
        return None

    def configure_logging(self) -> None:
        """The gateway's log lines (the access log among them) on stderr. Called by the server
        and by each process of `--workers N`, which starts afresh (as uvicorn's Config does)."""
        logging.basicConfig(level=self.log_level.upper(),
                            format=LOG_FORMAT)
        # The format shows no thread or process: not looking them up saves a getpid() and two
        # lookups on every record (the access log writes one per request).
        logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config = getattr(init_settings, "init_kwargs", {}).get("config") or os.environ.get(CONFIG_ENV)
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if config:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config)))
        return tuple(sources)


def load_settings(**flags: Any) -> GatewaySettings:
    """Settings from flags (None = not given), env and the config file; SettingsError if invalid."""
    given = {name: value for name, value in flags.items() if value not in (None, (), [])}
    config = given.get("config") or os.environ.get(CONFIG_ENV)
    if config and not Path(config).is_file():
        raise SettingsError(f"config file {config} does not exist")
    try:
        return GatewaySettings(**given)
    except ValueError as exc:
        raise SettingsError(_readable(exc)) from None


def _readable(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if errors is None:
        return str(exc)
    parts = []
    for error in errors():
        where = ".".join(str(part) for part in error.get("loc", ()))
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)
