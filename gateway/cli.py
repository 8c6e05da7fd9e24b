"""`blender-http gateway`: the command line only builds settings and runs uvicorn."""

from __future__ import annotations

import os
import signal
from typing import Any

import click

from .settings import GatewaySettings, SettingsError, load_settings


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--backend", "backends", multiple=True, metavar="URL",
              help="A worker URL; repeatable or comma-separated. A name resolving to several "
                   "addresses counts as several workers [env BLENDER_HTTP_GATEWAY_BACKENDS].")
@click.option("--spawn", type=int, default=None, metavar="N",
              help="Launch and supervise N local workers [env BLENDER_HTTP_GATEWAY_SPAWN].")
@click.option("--mode", type=click.Choice(["module", "background"]), default=None,
              help="How spawned workers run Blender [env BLENDER_HTTP_GATEWAY_MODE, default module].")
@click.option("--blender", default=None, help="Blender executable for --mode background.")
@click.option("--host", default=None, help="Address to bind [env BLENDER_HTTP_GATEWAY_HOST, "
                                           "default 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port; 0 picks a free one "
                                                     "[env BLENDER_HTTP_GATEWAY_PORT, default 8000].")
@click.option("--config", type=click.Path(dir_okay=False), default=None,
              help="A TOML file with the same keys [env BLENDER_HTTP_GATEWAY_CONFIG].")
@click.option("--kill-after", type=float, default=None, metavar="SECONDS",
              help="Kill and restart a spawned worker whose job ran this long past its timeout, "
                   "or that left /health unanswered this long while busy; route around such "
                   "a worker not spawned here [env BLENDER_HTTP_GATEWAY_KILL_AFTER, default 30].")
@click.option("--workers", type=int, default=None, metavar="N",
              help="Gateway processes serving the one port [env BLENDER_HTTP_GATEWAY_WORKERS, "
                   "default 1]; not with --spawn.")
@click.option("--log-level", default=None,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def main(backends: tuple[str, ...], spawn: int | None, mode: str | None, blender: str | None,
         host: str | None, port: int | None, config: str | None, kill_after: float | None,
         workers: int | None, log_level: str | None) -> None:
    """Serve the blender-http API in front of one or many Blender workers, with API keys,
    Swagger UI at /docs, Prometheus metrics at /metrics and MCP at /mcp."""
    flags: dict[str, Any] = {
        "backends": [u for b in backends for u in b.split(",")] or None, "spawn": spawn,
        "mode": mode, "blender": blender, "host": host, "port": port, "config": config,
        "kill_after": kill_after, "workers": workers, "log_level": log_level}
    try:
        settings = load_settings(**flags)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc
    if settings.workers > 1:
        # Each process builds its settings again (from the environment: flags come first there).
        _export(flags)
    serve(settings)


def _export(flags: dict[str, Any]) -> None:
    for name, value in flags.items():
        if value is not None:
            text = ",".join(value) if isinstance(value, list) else str(value)
            os.environ[f"BLENDER_HTTP_GATEWAY_{name.upper()}"] = text


def serve(settings: GatewaySettings) -> None:
    """Run the gateway until SIGINT/SIGTERM (uvicorn's handlers), then stop the workers."""
    import uvicorn

    from .app import create_app
    from .serving.protocol import GatewayProtocol

    settings.configure_logging()
    # N processes need an app each, built in the process: uvicorn imports the factory there.
    try:
        app: Any = create_app(settings) if settings.workers == 1 else "blender_http_gateway.app:app_from_env"
    except OSError as exc:  # e.g. the spawned workers' folder is not the user's alone
        raise click.ClickException(f"cannot start: {exc}") from exc
    # Once shut down, uvicorn raises the SIGTERM it caught again, under the handler that was
    # there before it: with none of ours the process would end by the signal. The stop was
    # graceful, so the gateway exits 0, as the workers do (`docker stop`, Kubernetes).
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        # uvicorn's own access log is off: the gateway logs each request with its id and backend.
        # The HTTP protocol: uvicorn's httptools one, each answer's head and body in one write,
        # and `POST /exec` and `/jobs` answered beneath ASGI (serving/).
        uvicorn.run(app, http=GatewayProtocol, factory=settings.workers > 1,
                    workers=settings.workers, host=settings.host,
                    port=settings.port, log_level=settings.log_level, access_log=False, lifespan="on",
                    timeout_graceful_shutdown=30)
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    main()
