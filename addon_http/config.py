"""Every setting of the server in one object; the CLI, env and preferences only build it."""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
from collections.abc import Mapping
from typing import Any

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")

MIB = 1024 * 1024
# Cycles' GPU device types (its compute_device_type), for cycles_device.
CYCLES_DEVICES = ("CUDA", "OPTIX", "HIP", "ONEAPI", "METAL")
BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False,
            "off": False}


class ConfigError(ValueError):
    """A setting is invalid or unsafe; the server refuses to start."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 7777
    token: str | None = None
    # Extra names the Host header may carry ("*" allows any); loopback names always pass.
    allowed_hosts: tuple[str, ...] = ()
    # Origins a browser page may call from; CORS headers are sent for these only.
    allowed_origins: tuple[str, ...] = ()
    # Folder of /files and WORKDIR; None means a scratch folder removed at shutdown.
    workdir: str | None = None
    max_body_bytes: int = 16 * MIB
    max_file_bytes: int = 4096 * MIB
    # A multipart/form-data exec or job (binary arguments); JSON and text bodies stay
    # under max_body_bytes. Default: protocol.MAX_MULTIPART_BYTES.
    max_multipart_bytes: int = 1024 * MIB
    max_queue: int = 64
    max_output_bytes: int = 1 * MIB
    job_retention: int = 1000
    # Bytes of results (output, result, binary) kept for finished jobs; past it the
    # oldest results are dropped (their jobs stay listed and say so).
    job_retention_bytes: int = 256 * MIB
    # Named sessions at once; a new one past it is refused with 503 (never evicted).
    max_sessions: int = 1000
    # Seconds a session may go unused before it is forgotten.
    session_ttl: float = 24 * 3600.0
    max_connections: int = 64
    # Seconds a new connection has to send its first bytes before it is closed.
    first_byte_timeout: float = 10.0
    # Seconds a kept-alive connection may sit idle between requests.
    idle_timeout: float = 60.0
    # Seconds a client has to send headers and body of one request before 408.
    request_timeout: float = 30.0
    # Written once the port is bound: {"pid", "port", "url", "mode"}; lets a launcher use port 0.
    ready_file: str | None = None
    # Stop when stdin ends: a launcher that gives the server a pipe as stdin (and never
    # writes to it) makes sure the server never outlives it (lifeline.py).
    exit_with_stdin: bool = False
    # MCP (/mcp): read-only leaves out the tools that run code or change the scene
    # (mcp/tools.READ_ONLY_LEFT_OUT); mcp_tools, when it names any, is all that is offered;
    # mcp_exclude_tools is never offered. Unknown names are refused at start (mcp_route.offered).
    mcp_read_only: bool = False
    mcp_tools: tuple[str, ...] = ()
    mcp_exclude_tools: tuple[str, ...] = ()
    # Cycles renders on this type of GPU (one of CYCLES_DEVICES, any case): set at start, in
    # every scene, and in every .blend opened later (scene/gpu.py). None: as Blender has it.
    cycles_device: str | None = None

    def validate(self) -> None:
        """Refuse settings that are unsafe or impossible."""
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port {self.port} is out of range 0-65535")
        if self.token is not None and not self.token.strip():
            raise ConfigError("token is empty")
        if not is_loopback(self.host) and not self.token:
            raise ConfigError(
                f"refusing to bind {self.host!r} without a token: anyone who can reach the port "
                "could run code as this user. Set BLENDER_HTTP_TOKEN (or --token), "
                "or bind 127.0.0.1."
            )
        for name in ("max_body_bytes", "max_file_bytes", "max_multipart_bytes", "max_queue",
                     "max_output_bytes", "job_retention", "job_retention_bytes", "max_sessions",
                     "max_connections"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        if self.cycles_device is not None and self.cycles_device.upper() not in CYCLES_DEVICES:
            raise ConfigError(f"cycles_device {self.cycles_device!r} is not one of "
                              f"{', '.join(CYCLES_DEVICES)}")
        for name in ("idle_timeout", "request_timeout", "session_ttl", "first_byte_timeout"):
            seconds = getattr(self, name)
            if not math.isfinite(seconds) or seconds <= 0:
                raise ConfigError(f"{name} must be a positive number of seconds")

    def replace(self, **changes: Any) -> Config:
        """A copy with some settings changed; None values are ignored."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, base: Config | None = None,
                 **overrides: Any) -> Config:
        """base (defaults, or the add-on preferences), then BLENDER_HTTP_* variables, then
        explicit overrides (None = not given): the later wins. Without BLENDER_HTTP_TOKEN
        the token may come from the file named by BLENDER_HTTP_TOKEN_FILE."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            raw = env.get("BLENDER_HTTP_" + field.name.upper())
            if raw is None or raw == "":
                continue
            values[field.name] = _parse(field.name, field.type, raw)
        token_file = env.get("BLENDER_HTTP_TOKEN_FILE")
        if token_file and "token" not in values and overrides.get("token") is None:
            values["token"] = read_token_file(token_file)
        config = (base or cls()).replace(**values)
        return config.replace(**overrides)


def _parse(name: str, kind: Any, raw: str) -> Any:
    kind = str(kind)
    try:
        if kind.startswith("bool"):
            if raw.lower() not in BOOLEANS:
                raise ValueError(f"not one of {', '.join(sorted(BOOLEANS))}")
            return BOOLEANS[raw.lower()]
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            return float(raw)
        if kind.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"BLENDER_HTTP_{name.upper()}={raw!r}: {exc}") from None
    return raw


def read_token_file(path: str) -> str:
    """The token held in a file (a container secret), without the newline `echo` or an
    editor leaves at its end."""
    try:
        with open(path, encoding="utf-8") as file:
            token = file.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"BLENDER_HTTP_TOKEN_FILE={path!r}: cannot read it: {reason}") from None
    if not token:
        raise ConfigError(f"BLENDER_HTTP_TOKEN_FILE={path!r}: the file is empty")
    return token


def is_loopback(host: str) -> bool:
    """True for names and addresses that only this machine can reach."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
