"""`blender-http gateway`: the FastAPI gateway, when the [gateway] extra is installed."""

from __future__ import annotations

import click


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                 "help_option_names": []})
@click.argument("gateway_args", nargs=-1, type=click.UNPROCESSED)
def gateway(gateway_args: tuple[str, ...]) -> None:
    """The FastAPI gateway (needs the [gateway] extra); every argument goes to it, try
    `blender-http gateway --help`."""
    try:
        from blender_http_gateway.cli import main as gateway_main
    except ImportError as exc:
        raise click.UsageError(f"the gateway is not installed ({exc}): "
                               "pip install 'blender-http[gateway]'") from exc
    gateway_main(args=list(gateway_args), prog_name="blender-http gateway")
