"""`blender-http gateway`: the command line only builds settings and runs uvicorn."""

from __future__ import annotations

import logging
import signal

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
@click.option("--log-level", default=None,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def main(backends: tuple[str, ...], spawn: int | None, mode: str | None, blender: str | None,
         host: str | None, port: int | None, config: str | None, log_level: str | None) -> None:
    """Serve the blender-http API in front of one or many Blender workers, with API keys,
    Swagger UI at /docs, Prometheus metrics at /metrics and MCP at /mcp."""
    try:
        settings = load_settings(backends=[u for b in backends for u in b.split(",")] or None,
                                 spawn=spawn, mode=mode, blender=blender, host=host, port=port,
                                 config=config, log_level=log_level)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc
    serve(settings)


def serve(settings: GatewaySettings) -> None:
    """Run the gateway until SIGINT/SIGTERM (uvicorn's handlers), then stop the workers."""
    import uvicorn

    from .app import create_app

    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: "
                                                                 "%(message)s")
    app = create_app(settings)
    # Once shut down, uvicorn raises the SIGTERM it caught again, under the handler that was
    # there before it: with none of ours the process would end by the signal. The stop was
    # graceful, so the gateway exits 0, as the workers do (`docker stop`, Kubernetes).
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        # uvicorn's own access log is off: the gateway logs each request with its id and backend.
        uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level,
                    access_log=False, lifespan="on", timeout_graceful_shutdown=30)
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    main()
