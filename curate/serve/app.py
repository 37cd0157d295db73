"""The HTTP routes of ``curate serve`` (Starlette), as Label Studio's ML backend protocol wants.

- ``GET /health``: ``{"status": "UP", "model_version": ...}``;
- ``POST /setup``: Label Studio connects a project; answers the model version;
- ``POST /predict``: a batch of tasks -> ``{"results": [one prediction per task]}``; with
  ``params.context`` (an interactive request) the suggestion for the labeler's regions;
- ``POST /webhook``: annotation events and ``START_TRAINING`` start a background
  training run (answered at once: Label Studio waits one second for a webhook);
- ``POST /train``: the older training call, same effect;
- ``GET /versions`` and ``GET /status``: the model versions with their scores.

Each request is logged as one JSON line (event, path, status, milliseconds, task count);
bodies, tokens and texts never are.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from curate.errors import CurateError
from curate.serve import wire
from curate.serve.backend import Backend
from curate.studio.convert import text_field

logger = logging.getLogger("curate.serve")
TRAINING_ACTIONS = frozenset(
    {"ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_CREATED", "START_TRAINING"}
)


def log_event(event: str, **fields: Any) -> None:
    """One structured log line; callers pass counts and names, never texts or secrets."""
    logger.info(json.dumps({"event": event, **fields}, default=str, sort_keys=True))


def create_app(
    backend: Backend, on_setup: Callable[[wire.SetupRequest], None] | None = None
) -> Starlette:
    """The ASGI app serving ``backend``. ``on_setup`` learns where Label Studio is."""

    async def health(request: Request) -> JSONResponse:
        return JSONResponse(
            {"status": "UP", "model_class": "curate", "model_version": backend.model_version}
        )

    async def setup(request: Request) -> JSONResponse:
        body = await _parse(request, wire.SetupRequest)
        if on_setup is not None:
            on_setup(body)
        log_event("setup", project=body.project_id())
        return JSONResponse({"model_version": backend.model_version})

    async def predict(request: Request) -> JSONResponse:
        body = await _parse(request, wire.PredictRequest)
        context = body.params.context
        if context and context.get("result") and body.tasks:
            result = await run_in_threadpool(backend.suggest, body.tasks[0], context)
            request.state.fields = {
                "tasks": 1,
                "interactive": True,
                "regions": len(result["result"]),
            }
            return JSONResponse({"results": [result], "model_version": backend.model_version})
        missing = backend.without_text(body.tasks)
        if missing and len(missing) == len(body.tasks):
            raise _Problem(
                400,
                f"task {missing[0]}: no text in data.{text_field(backend.schema)} (the label "
                "config's text field); import tasks with their article text in that field",
            )
        results = await asyncio.wrap_future(backend.submit_predict(body.tasks))
        request.state.fields = {"tasks": len(body.tasks)}
        if missing:  # named in the request's log line; their predictions are empty
            request.state.fields["tasks_without_text"] = missing[:20]
        return JSONResponse({"results": results, "model_version": backend.model_version})

    async def webhook(request: Request) -> JSONResponse:
        body = await _parse(request, wire.WebhookEvent)
        request.state.fields = {"action": body.action, "project": wire.project_id(body.project)}
        if body.action not in TRAINING_ACTIONS or backend.retrainer is None:
            return JSONResponse({"status": "ignored", "action": body.action})
        return JSONResponse({"status": backend.train(body.action), "action": body.action}, 201)

    async def train(request: Request) -> JSONResponse:
        await _parse(request, wire.TrainRequest)
        if backend.retrainer is None:
            return _error(400, "this backend has no trainer: start curate serve with --base-gold")
        return JSONResponse({"status": backend.train("train request")}, 201)

    async def versions(request: Request) -> JSONResponse:
        st = backend.status()
        return JSONResponse({"versions": [v["name"] for v in st["versions"]], **st})

    async def status(request: Request) -> JSONResponse:
        return JSONResponse(backend.status())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        log_event("start", model_version=backend.model_version)
        yield
        backend.close()
        log_event("stop")

    app = Starlette(
        routes=[
            Route("/", health, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            Route("/setup", setup, methods=["POST"]),
            Route("/predict", predict, methods=["POST"]),
            Route("/webhook", webhook, methods=["POST"]),
            Route("/train", train, methods=["POST"]),
            Route("/versions", versions, methods=["GET"]),
            Route("/status", status, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(_AccessLog)
    return app


class _Problem(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _parse(request: Request, model: type[wire._Wire]) -> Any:
    try:
        raw = await request.body()
        return model.model_validate_json(raw or b"{}")
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise _Problem(400, f"bad request body: {where or 'body'}: {first.get('msg')}") from None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status)


class _AccessLog:
    """Logs each request as one JSON line and turns curate errors into JSON answers."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        state: dict[str, Any] = {"status": 500}

        async def send_status(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        except (_Problem, CurateError) as e:
            status = e.status if isinstance(e, _Problem) else 500
            state["status"] = status
            await _error(status, str(e))(scope, receive, send)
        finally:
            fields = (scope.get("state") or {}).get("fields") or {}
            log_event(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=state["status"],
                ms=round((time.perf_counter() - t0) * 1000, 1),
                **fields,
            )
