"""HTTP entry: a Starlette app behind uvicorn (graceful SIGTERM), and Socket Mode."""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
import uvicorn
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from handoff.bot.app import Handoff
from handoff.bot.scheduler import start_scheduler

log = logging.getLogger(__name__)


def asgi(
    handoff: Handoff, *, http_events: bool = True, scheduler: bool = True, socket_mode: Any = None
) -> Starlette:
    """The ASGI app: POST /slack/events (when serving HTTP) and GET /healthz."""

    async def events(request: Request) -> Response:
        body = await request.body()
        # Bolt is synchronous: run it off the event loop so requests are served concurrently
        bolt_response = await run_in_threadpool(
            handoff.app.dispatch, to_bolt_request(request, body)
        )
        return to_starlette_response(bolt_response)

    def database_ok() -> bool:
        try:
            with handoff.services.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except Exception as exc:
            log.warning("health check: database unreachable: %s", exc)
            return False

    async def healthz(request: Request) -> Response:
        ok = await run_in_threadpool(database_ok)
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "database": "ok" if ok else "down"},
            status_code=200 if ok else 503,
        )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        jobs = start_scheduler(handoff) if scheduler else None
        if socket_mode is not None:
            socket_mode.connect()
        log.info("handoff is up")
        try:
            yield
        finally:
            if socket_mode is not None:
                socket_mode.close()
            if jobs is not None:
                jobs.shutdown(wait=True)
            handoff.services.later.close()
            log.info("handoff stopped")

    routes = [Route("/healthz", healthz, methods=["GET"])]
    if http_events:
        routes.append(Route("/slack/events", events, methods=["POST"]))
    return Starlette(routes=routes, lifespan=lifespan)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0 picks a free one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def server(app: Starlette, *, log_level: str = "info") -> uvicorn.Server:
    """A uvicorn server that finishes in-flight requests on SIGTERM (up to 20 s)."""
    config = uvicorn.Config(
        app, log_level=log_level, timeout_graceful_shutdown=20, access_log=False, lifespan="on"
    )
    return uvicorn.Server(config)


def _exit_cleanly(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def serve(handoff: Handoff, *, port: int, socket_mode: bool = False) -> None:
    """Run until SIGTERM/SIGINT: HTTP events, or Socket Mode with /healthz over HTTP."""
    handler = None
    if socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        handler = SocketModeHandler(handoff.app, handoff.services.settings.app_token)
    app = asgi(handoff, http_events=not socket_mode, socket_mode=handler)
    sock = bind("0.0.0.0", port)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal with the
    # handler it found: make that a clean exit (status 0) rather than death by signal
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    log.info(
        "listening on port %s (%s)", sock.getsockname()[1], "socket mode" if socket_mode else "http"
    )
    server(app).run(sockets=[sock])
