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
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from handoff.bot.app import Handoff
from handoff.bot.scheduler import start_scheduler
from handoff.settings import ConfigError

log = logging.getLogger(__name__)


def asgi(
    handoff: Handoff, *, http_events: bool = True, scheduler: bool = True, socket_mode: Any = None
) -> Starlette:
    """The ASGI app: POST /slack/events (when serving HTTP) and GET /healthz; a connected
    Socket Mode handler is closed when it stops."""

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


class SocketModeUnavailable(Exception):
    """Socket Mode could not connect at start; the message says why in one line."""


def connect_socket_mode(handoff: Handoff) -> Any:
    """A connected Socket Mode handler; ConfigError when Slack refuses the app token,
    SocketModeUnavailable when it cannot be reached (a traceback would bury the cause)."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    settings = handoff.services.settings
    handler = SocketModeHandler(handoff.app, settings.app_token)
    # ask for the WebSocket URL ourselves, quietly: the SDK would log each failed try and
    # the refusal at length before raising; the caller prints the one line that matters
    quiet = logging.getLogger(f"{__name__}.connections_open")
    quiet.propagate = False
    if not quiet.handlers:
        quiet.addHandler(logging.NullHandler())
    client = handoff.app.client
    opener = WebClient(base_url=client.base_url, timeout=client.timeout, logger=quiet)
    try:
        url = opener.apps_connections_open(app_token=settings.app_token)["url"]
    except SlackApiError as exc:
        error = exc.response.get("error") or f"HTTP {exc.response.status_code}"
        if exc.response.status_code >= 500:
            raise SocketModeUnavailable(f"Slack could not open Socket Mode ({error})") from None
        raise ConfigError(
            f"Slack refused SLACK_APP_TOKEN ({error}): Socket Mode needs an app-level token "
            "with the connections:write scope"
        ) from None
    except (OSError, SlackClientError) as exc:  # URLError is an OSError
        raise SocketModeUnavailable(
            f"cannot reach Slack at {settings.api_url} to open Socket Mode: {_reason(exc)}"
        ) from None
    handler.client.wss_uri = url
    try:
        handler.connect()
    except Exception as exc:
        raise SocketModeUnavailable(
            f"cannot open the Socket Mode connection: {_reason(exc)}"
        ) from None
    return handler


def _reason(exc: BaseException) -> str:
    return " ".join(str(getattr(exc, "reason", None) or exc or type(exc).__name__).split())


def _exit_cleanly(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def serve(handoff: Handoff, *, port: int, socket_mode: bool = False) -> None:
    """Run until SIGTERM/SIGINT: HTTP events, or Socket Mode with /healthz over HTTP."""
    sock = bind("0.0.0.0", port)
    try:
        handler = connect_socket_mode(handoff) if socket_mode else None
    except (ConfigError, SocketModeUnavailable):
        sock.close()
        raise
    app = asgi(handoff, http_events=not socket_mode, socket_mode=handler)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal with the
    # handler it found: make that a clean exit (status 0) rather than death by signal
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    log.info(
        "listening on port %s (%s)", sock.getsockname()[1], "socket mode" if socket_mode else "http"
    )
    server(app).run(sockets=[sock])
