"""The interactive API docs, served with their own assets: `/docs` (Swagger UI) renders with no
network beyond the service itself (the framework's default loads it from a content delivery
network, which leaves the page blank on an offline or closed network).

The assets are Swagger UI's published bundle, as packaged by `fastapi-offline`; only its files
are used. Swagger UI offers to send a project key (the bearer scheme the OpenAPI document
declares) with every request tried from the page. ReDoc is not served: its bundle loads its
maker's logo from the network whatever it is told."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS = "/docs/assets"
SWAGGER_REDIRECT = "/docs/oauth2-redirect"


def assets_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def add_docs(app: FastAPI) -> None:
    """`/docs` and its assets, none of them in the OpenAPI document."""
    app.mount(ASSETS, StaticFiles(directory=assets_dir()), name="docs-assets")
    title = f"{app.title} — API"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=title,
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            oauth2_redirect_url=SWAGGER_REDIRECT,
            swagger_ui_parameters={"persistAuthorization": False, "tryItOutEnabled": False},
        )

    @app.get(SWAGGER_REDIRECT, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
