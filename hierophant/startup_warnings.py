"""Start-up warnings for configurations that start fine and then go wrong (issue 8).

Pure checks of the loaded configuration, run once by `make_service` on the main thread
before the reactor starts; each message says what will go wrong.
"""
from __future__ import annotations

import ipaddress
import logging
from urllib.parse import urlsplit

from hierophant.config import HierophantConfig

log = logging.getLogger("hierophant")

EXAMPLE_WORKER_TOKEN = "change-me-local-worker-token"     # etc/hierophant.toml's


def _loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def startup_warnings(cfg: HierophantConfig) -> list[str]:
    found = []
    if not _loopback(cfg.bind_address):
        where = f"bind_address {cfg.bind_address!r} is not a loopback address"
        if cfg.worker_token == EXAMPLE_WORKER_TOKEN:
            found.append(f"{where} and worker_token is the example from etc/hierophant.toml: anyone who "
                         "can reach this port can register a worker and receive every program and stdin; "
                         "set a secret worker_token")
        if cfg.auth.mode == "none":
            found.append(f"{where} and auth.mode is \"none\": anyone who can reach the gRPC port can "
                         "register programs and request proofs; set auth.mode = \"verify\" or \"allowlist\"")
    url = urlsplit(cfg.public_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    if _loopback(url.hostname) and port != cfg.http_port:
        found.append(f"public_url {cfg.public_url} is a loopback URL on port {port}, but http_port is "
                     f"{cfg.http_port}: every upload and worker URL will point at port {port}. That is "
                     "right only behind a proxy forwarding that port here; otherwise set public_url to "
                     f"http://127.0.0.1:{cfg.http_port}")
    return found


def log_startup_warnings(cfg: HierophantConfig) -> None:
    for message in startup_warnings(cfg):
        log.warning("%s", message)
