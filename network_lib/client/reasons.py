"""Why a request failed, and how far it got: the hierophant's `GET /requests/0x<id>`.

The gRPC contract has no field for a failure reason (tags 34/35 stay unset,
sdk-network-contract.md §6), so `hierophant-client` asks the hierophant's HTTP port, where
the request id is the capability. Other networks have no such endpoint: every lookup here
fails quietly (None). `ProgressBar` draws phase, percent and ETA on a terminal.
"""
from __future__ import annotations

import json
import shutil
import sys
import urllib.error
import urllib.request
from typing import Optional, TextIO
from urllib.parse import urlsplit

HTTP_PORT_OFFSET = 10       # the default layout: gRPC 9000, HTTP 9010
LOOKUP_TIMEOUT_SECS = 5.0


def default_http_url(rpc_url: str) -> str:
    """The hierophant's HTTP base beside `rpc_url` in the default layout (port + 10)."""
    parts = urlsplit(rpc_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme or 'http'}://{parts.hostname}:{port + HTTP_PORT_OFFSET}"


def fetch(http_url: str, request_id: bytes, timeout: float = LOOKUP_TIMEOUT_SECS) -> Optional[dict]:
    """The status JSON of one request, or None when the endpoint cannot tell."""
    url = f"{http_url.rstrip('/')}/requests/0x{request_id.hex()}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            value = json.loads(r.read())
    except (OSError, ValueError, urllib.error.HTTPError):
        return None
    return value if isinstance(value, dict) else None


def failure_reason(http_url: str, request_id: bytes) -> Optional[str]:
    info = fetch(http_url, request_id)
    return info.get("failure_reason") if info else None


class ProgressBar:
    """One line, redrawn in place: `proving  [#######.............]  35%  ETA 1m05s`."""

    WIDTH = 24

    def __init__(self, stream: TextIO = sys.stdout) -> None:
        self.stream = stream
        self.drawn = False

    def draw(self, info: Optional[dict], fallback_phase: str) -> None:
        info = info or {}
        phase = info.get("phase") or fallback_phase
        percent = info.get("progress_percent")
        line = f"{phase:<12}"
        if isinstance(percent, (int, float)):
            filled = int(self.WIDTH * max(0.0, min(100.0, percent)) / 100)
            line += f" [{'#' * filled}{'.' * (self.WIDTH - filled)}] {percent:3.0f}%"
        eta = info.get("eta_secs")
        if isinstance(eta, (int, float)):
            line += f"  ETA {int(eta) // 60}m{int(eta) % 60:02d}s"
        columns = shutil.get_terminal_size((80, 20)).columns
        self.stream.write("\r" + line[: columns - 1].ljust(columns - 1))
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False
