"""Serve the dashboard's production build under /ui/, deep links included."""

from __future__ import annotations

from pathlib import Path

from litestar import Response, Router, get
from litestar.datastructures import ResponseHeader
from litestar.params import FromPath
from litestar.response import File, Redirect
from litestar.status_codes import HTTP_404_NOT_FOUND

#: The dashboard loads scripts, styles and data from its own origin only. Vue
#: sets style attributes at run time, hence 'unsafe-inline' for styles alone.
CONTENT_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

#: Shown at /ui/ when the dashboard was never built.
NOT_BUILT = (
    "The dashboard is not built. Run `just web-build` (or `just dev`, which builds it) "
    "and reload. The API works without it."
)


def dashboard_router(dist: Path) -> Router:
    """Files of the build by their path; any other path under /ui/ gets index.html."""
    root = dist.resolve()

    def serve(path: str) -> File | Response[str]:
        index = root / "index.html"
        if not index.is_file():
            return Response(NOT_BUILT, status_code=HTTP_404_NOT_FOUND, media_type="text/plain")

        candidate = (root / path.lstrip("/")).resolve()
        if not (candidate.is_file() and candidate.is_relative_to(root)):
            candidate = index

        return File(candidate, filename=candidate.name, content_disposition_type="inline")

    @get(["/ui", "/ui/"], include_in_schema=False, cache=False)
    async def dashboard() -> File | Response[str]:
        return serve("")

    @get("/ui/{path:path}", include_in_schema=False, cache=False)
    async def dashboard_path(path: FromPath[str]) -> File | Response[str]:
        return serve(path)

    @get("/", include_in_schema=False)
    async def home() -> Redirect:
        return Redirect("/ui/")

    return Router(
        path="/",
        route_handlers=[dashboard, dashboard_path, home],
        response_headers=[ResponseHeader(name="Content-Security-Policy", value=CONTENT_POLICY)],
    )
