"""`/docs` (Swagger UI), served from the vendored files: no CDN, no validator badge.

There is no `/redoc`: its standalone bundle fetches its logo from Redocly's CDN, and one docs page is enough."""

from __future__ import annotations

import fastapi
import fastapi.openapi.docs

router = fastapi.APIRouter(include_in_schema=False)

VENDOR = "/static/vendor"


@router.get("/docs")
async def swagger(request: fastapi.Request) -> fastapi.Response:
    return fastapi.openapi.docs.get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title}: API",
        swagger_js_url=f"{VENDOR}/swagger-ui-bundle.js",
        swagger_css_url=f"{VENDOR}/swagger-ui.css",
        swagger_favicon_url=f"{VENDOR}/favicon-32x32.png",
        # The validator badge would call validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
    )
