"""A local HTTP server that behaves like a Cortex XDR tenant, for tests and demos.

It is a plain WSGI application on werkzeug (not a Flask app of the appliance): it
checks standard and advanced keys (a bad hash, or a timestamp more than five minutes
off, gets 401), enforces the documented limits, pages, answers the calls the
appliance makes from :class:`SandboxTenant`, and injects faults (429, 500, slow
replies, dropped connections) at a configurable rate.
"""

from __future__ import annotations

import hmac
import json
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from appliance.xdr import sandbox_calls
from appliance.xdr.auth import advanced_signature
from appliance.xdr.ratelimit import EXTRA_DATA_CALL, TokenBucket
from appliance.xdr.sandbox_tenant import SandboxTenant

logger = logging.getLogger(__name__)

MAX_SKEW_MS = 5 * 60 * 1000
FAULT_KINDS = ("429", "500", "slow", "drop")


@dataclass
class Faults:
    """Which faults the sandbox injects, and how often."""

    rate: float = 0.0
    kinds: tuple[str, ...] = ("429", "500")
    slow_seconds: float = 2.0
    seed: int | None = None
    injected: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(
                f"unknown fault kinds {sorted(unknown)}; use {FAULT_KINDS}"
            )
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def draw(self) -> str | None:
        """Return the fault to inject into this call, or None."""
        with self._lock:
            if not self.kinds or self._random.random() >= self.rate:
                return None
            kind = self._random.choice(self.kinds)
            self.injected[kind] = self.injected.get(kind, 0) + 1
            return kind


class XdrApiError(Exception):
    """An error the sandbox answers in XDR's shape."""

    def __init__(self, status: int, err_msg: str, err_extra: Any = "") -> None:
        super().__init__(err_msg)
        self.status = status
        self.err_msg = err_msg
        self.err_extra = err_extra


def xdr_error(status: int, err_msg: str, err_extra: Any = "") -> Response:
    """Return an error reply shaped as XDR sends it."""
    body = {"reply": {"err_code": status, "err_msg": err_msg, "err_extra": err_extra}}
    return Response(json.dumps(body), status=status, mimetype="application/json")


class SandboxApp:
    """The WSGI application of the sandbox."""

    def __init__(
        self,
        tenant: SandboxTenant,
        *,
        faults: Faults | None = None,
        requests_per_second: float | None = None,
        extra_data_per_minute: float | None = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tenant = tenant
        self.faults = faults or Faults()
        self.clock = clock
        self.calls: dict[str, int] = {}
        self._calls_lock = threading.Lock()
        self.overall = (
            TokenBucket(requests_per_second, requests_per_second)
            if requests_per_second
            else None
        )
        self.extra_data = (
            TokenBucket(extra_data_per_minute / 60, extra_data_per_minute)
            if extra_data_per_minute
            else None
        )
        self.url_map = Map(
            [Rule("/public_api/v1/<group>/<call>", endpoint="api", methods=["POST"])],
            strict_slashes=False,
        )

    def authenticate(self, request: Request) -> None:
        """Check the key headers; raise a 401 in XDR's shape when they fail."""
        key_id = request.headers.get("x-xdr-auth-id", "")
        authorization = request.headers.get("Authorization", "")
        key = self.tenant.keys.get(key_id)
        if key is None or not authorization:
            raise XdrApiError(401, "Public API request unauthorized")
        if key.key_type == "standard":
            if not hmac.compare_digest(authorization, key.key):
                raise XdrApiError(401, "Public API request unauthorized")
            return
        nonce = request.headers.get("x-xdr-nonce", "")
        timestamp = request.headers.get("x-xdr-timestamp", "")
        if len(nonce) != 64 or not nonce.isalnum() or not timestamp.isdigit():
            raise XdrApiError(401, "Public API request unauthorized")
        if abs(self.clock() * 1000 - int(timestamp)) > MAX_SKEW_MS:
            raise XdrApiError(401, "Public API request unauthorized", "timestamp skew")
        expected = advanced_signature(key.key, nonce, timestamp)
        if not hmac.compare_digest(authorization, expected):
            raise XdrApiError(401, "Public API request unauthorized")

    def _rate_limit(self, call: str) -> None:
        """Refuse calls over the tenant's documented rates."""
        if self.overall is not None and self.overall.try_acquire() > 0:
            raise XdrApiError(429, "Rate limit exceeded")
        if call == EXTRA_DATA_CALL and self.extra_data is not None:
            if self.extra_data.try_acquire() > 0:
                raise XdrApiError(429, "Rate limit exceeded")

    def dispatch(self, request: Request) -> Response:
        """Answer one request."""
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            _endpoint, args = adapter.match()
        except HTTPException as exc:
            return xdr_error(exc.code or 404, exc.description or "not found")
        call = f"{args['group']}/{args['call']}"
        with self._calls_lock:
            self.calls[call] = self.calls.get(call, 0) + 1
        try:
            self.authenticate(request)
            fault = self.faults.draw()
            if fault == "429":
                raise XdrApiError(429, "Rate limit exceeded")
            if fault == "500":
                raise XdrApiError(500, "Internal server error (injected)")
            if fault == "slow":
                time.sleep(self.faults.slow_seconds)
            if fault == "drop":
                _drop(request)
            self._rate_limit(call)
            try:
                body = json.loads(request.get_data() or b"null")
            except ValueError:
                raise XdrApiError(400, "Bad Request. Got an invalid JSON.") from None
            if not isinstance(body, dict) or not isinstance(
                body.get("request_data"), dict
            ):
                raise XdrApiError(400, "Bad Request. request_data is missing.")
            handler = sandbox_calls.HANDLERS.get(call)
            if handler is None:
                raise NotFound()
            reply = handler(self.tenant, body["request_data"])
        except XdrApiError as exc:
            return xdr_error(exc.status, exc.err_msg, exc.err_extra)
        except sandbox_calls.CallRefused as exc:
            return xdr_error(exc.status, str(exc), exc.err_extra)
        except NotFound:
            return xdr_error(404, f"unknown API {call}")

        return Response(json.dumps({"reply": reply}), mimetype="application/json")

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Serve one WSGI request."""
        return self.dispatch(Request(environ))(environ, start_response)


def _drop(request: Request) -> None:
    """Close the client's connection without an answer (a dropped connection)."""
    connection = request.environ.get("werkzeug.socket")
    if isinstance(connection, socket.socket):
        connection.shutdown(socket.SHUT_RDWR)
    raise XdrApiError(500, "connection dropped")


class SandboxServer:
    """The sandbox served by werkzeug's threaded server on a background thread."""

    def __init__(self, app: SandboxApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="xdr-sandbox", daemon=True
        )

    @property
    def url(self) -> str:
        """Return the base URL the sandbox answers on."""
        return f"http://{self._server.host}:{self._server.port}"

    def start(self) -> SandboxServer:
        """Start serving in the background."""
        self._thread.start()
        logger.info("xdr sandbox started", extra={"url": self.url})
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted."""
        self._server.serve_forever()
