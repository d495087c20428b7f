"""Small response helpers shared by the HTTP resources."""
from __future__ import annotations

import json
from typing import Any

from twisted.web import server


def text(request: server.Request, code: int, message: str) -> bytes:
    request.setResponseCode(code)
    request.setHeader(b"content-type", b"text/plain; charset=utf-8")
    return (message + "\n").encode()


def json_body(request: server.Request, value: Any, code: int = 200) -> bytes:
    request.setResponseCode(code)
    request.setHeader(b"content-type", b"application/json")
    return json.dumps(value, indent=1).encode() + b"\n"
