"""/docs (Swagger UI) and /redoc, served from local files when `fastapi-offline` is installed,
so the pages work on machines that cannot reach a CDN (clusters, air-gapped hosts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"


def local_assets() -> Path | None:
    """The folder holding swagger-ui-bundle.js, swagger-ui.css and redoc.standalone.js, if any."""
    try:
        import fastapi_offline
    except ImportError:
        return None
    folder = Path(fastapi_offline.__file__).parent / "static"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def add_docs(app: FastAPI) -> None:
    """Add /docs and /redoc; CDN assets (FastAPI's defaults) only without a local copy."""
    folder = local_assets()
    assets: dict[str, Any] = {}
    if folder is not None:
        app.mount(ASSETS, StaticFiles(directory=folder), name="docs-assets")
        assets = {"swagger_js_url": f"{ASSETS}/swagger-ui-bundle.js",
                  "swagger_css_url": f"{ASSETS}/swagger-ui.css",
                  "swagger_favicon_url": f"{ASSETS}/favicon.png"}
    redoc: dict[str, Any] = {"redoc_js_url": f"{ASSETS}/redoc.standalone.js",
             "redoc_favicon_url": f"{ASSETS}/favicon.png", "with_google_fonts": False} if folder else {}

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} - Swagger UI",
                                   oauth2_redirect_url="/docs/oauth2-redirect",
                                   swagger_ui_parameters=app.swagger_ui_parameters, **assets)

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc_page() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title=f"{app.title} - ReDoc", **redoc)
