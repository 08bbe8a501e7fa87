"""Signed posts to the XDR webhook, as an XDR connector sends them."""

from __future__ import annotations

import json
import time

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from appliance.intake.signature import sign


def post_signed(
    client: FlaskClient,
    body: object,
    secret: str,
    *,
    timestamp: int | None = None,
    signature: str | None = None,
) -> TestResponse:
    """Post ``body`` (bytes, or an object sent as JSON) signed with ``secret``.

    ``timestamp`` and ``signature`` replace the current time and the right signature.
    """
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    return client.post(
        "/api/v1/webhooks/xdr",
        data=raw,
        content_type="application/json",
        headers={
            "X-Appliance-Timestamp": stamp,
            "X-Appliance-Signature": signature or sign(secret, stamp, raw),
        },
    )
