"""The contemplant's configuration schema (DESIGN.md "Configuration keys", etc/contemplant.toml).

`[[provers]]` tables share one dataclass holding the keys of every backend; a key given
for a backend it does not belong to is an error naming it, and the backend's own defaults
are filled in after loading (`BACKEND_KEYS`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from network_lib import config as c
from network_lib.versions import CIRCUIT_VERSIONS

ALL_MODES = (1, 2, 3, 4)
MOONGATE_IMAGE = "public.ecr.aws/succinct-labs/moongate:v5.0.0"
FAIL_MODES = ("none", "program", "infrastructure", "garbage", "wrong-mode")
_REQUIRED = object()   # a per-backend key with no default

# backend -> {key: default}; DESIGN.md's contemplant key table.
BACKEND_KEYS: dict[str, dict[str, Any]] = {
    "mock": {"delay_secs": 1.0, "slots": 1, "circuit_versions": CIRCUIT_VERSIONS, "fail": "none"},
    "sp1-gpu": {"binary": "~/.sp1/bin/sp1-gpu-server", "gpus": (0,), "sp1_version": _REQUIRED,
                "launch": "spawn", "socket_dir": "/tmp"},
    "moongate": {"launch": "docker", "image": MOONGATE_IMAGE, "endpoint": None, "gpus": (0,)},
    "command": {"command": _REQUIRED, "slots": 1, "modes": ALL_MODES, "sp1_version": _REQUIRED},
}


def _ws_url(v: str) -> str | None:
    parts = urlsplit(v)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        return f"must be a ws:// or wss:// URL, got {v!r}"
    return None


def _ws_urls(v: tuple[str, ...]) -> str | None:
    if not v:
        return "must name at least one ws:// or wss:// URL"
    return next((e for e in map(_ws_url, v) if e), None)


def _versions(v: tuple[str, ...]) -> str | None:
    bad = [x for x in v if x not in CIRCUIT_VERSIONS]
    if bad:
        return f"unknown circuit version(s) {bad} (known: {', '.join(CIRCUIT_VERSIONS)})"
    return None if v else "must list at least one circuit version"


def _modes(v: tuple[int, ...]) -> str | None:
    bad = [m for m in v if m not in ALL_MODES]
    if bad:
        return f"unknown proof mode(s) {bad} (1 core, 2 compressed, 3 plonk, 4 groth16)"
    return None if v else "must list at least one mode"


def _gpus(v: tuple[int, ...]) -> str | None:
    return None if v and all(g >= 0 for g in v) else "must list GPU indices (0 or greater)"


def _non_empty(v: str) -> str | None:
    return None if v.strip() else "must not be empty"


def _opt(check=None) -> Any:
    return dataclasses.field(default=None, metadata=c.check(check) if check else {})


@dataclass(frozen=True)
class ProverConfig:
    """One `[[provers]]` table; only the keys of `backend` may be set (BACKEND_KEYS)."""
    backend: str = c.required(c.one_of(*BACKEND_KEYS))
    # mock
    delay_secs: float | None = _opt(c.non_negative)
    slots: int | None = _opt(c.positive)
    circuit_versions: tuple[str, ...] | None = _opt(_versions)
    fail: str | None = _opt(c.one_of(*FAIL_MODES))
    # sp1-gpu
    binary: str | None = _opt(_non_empty)
    gpus: tuple[int, ...] | None = _opt(_gpus)
    sp1_version: str | None = _opt(_non_empty)
    launch: str | None = _opt(_non_empty)     # values are checked by each backend
    socket_dir: str | None = _opt(_non_empty)
    # moongate
    image: str | None = _opt(_non_empty)
    endpoint: str | None = _opt(_non_empty)
    # command
    command: str | None = _opt(_non_empty)
    modes: tuple[int, ...] | None = _opt(_modes)


@dataclass(frozen=True)
class ContemplantConfig:
    # One address, or a list (a leader and its standbys): tried in turn until the leader accepts.
    hierophant_ws_address: tuple[str, ...] = dataclasses.field(
        default=("ws://127.0.0.1:9010/ws",), metadata=c.check(_ws_urls))
    worker_token: str = c.required(_non_empty)
    name: str | None = _opt(_non_empty)        # None: drawn once from names.txt, kept in state_dir
    state_dir: str = "var/contemplant"
    http_port: int = dataclasses.field(default=9011, metadata=c.check(c.port))
    drain_timeout_secs: float = dataclasses.field(default=60.0, metadata=c.check(c.non_negative))
    provers: tuple[ProverConfig, ...] = ()


def load_config(path: str | Path | None, environ: Mapping[str, str] | None = None) -> ContemplantConfig:
    """Load and validate; raises `ConfigError` naming the offending key."""
    cfg = c.load(ContemplantConfig, path, "CONTEMPLANT", environ)
    if not cfg.provers:
        raise c.ConfigError("at least one [[provers]] table is required (e.g. backend = \"mock\")")
    provers = tuple(_resolve_prover(p, i) for i, p in enumerate(cfg.provers))
    return dataclasses.replace(cfg, provers=provers)   # name None: the state_dir's (StateDir.name)


def _resolve_prover(p: ProverConfig, index: int) -> ProverConfig:
    """Reject keys of other backends; fill in this backend's defaults."""
    own = BACKEND_KEYS[p.backend]
    values = {}
    for f in dataclasses.fields(p):
        if f.name == "backend":
            continue
        value = getattr(p, f.name)
        if f.name not in own:
            if value is not None:
                raise c.ConfigError(f"provers.{index}.{f.name} is not a key of backend {p.backend!r} "
                                    f"(its keys: {', '.join(own)})")
            continue
        if value is None:
            value = own[f.name]
            if value is _REQUIRED:
                raise c.ConfigError(f"missing required key provers.{index}.{f.name} "
                                    f"for backend {p.backend!r}")
        values[f.name] = value
    return dataclasses.replace(p, **values)
