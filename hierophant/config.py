"""The hierophant's configuration schema (DESIGN.md "Configuration keys", etc/hierophant.toml).

Keys of features that have not landed yet are accepted and validated, and their table says
so; they change nothing until the feature lands.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from network_lib import config as c

GIB = 1 << 30
ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")


def _url(v: str) -> str | None:
    parts = urlsplit(v)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"must be an absolute http(s) URL, got {v!r}"
    return None


def _addresses(v: tuple[str, ...]) -> str | None:
    bad = [a for a in v if not ADDRESS_RE.match(a)]
    return f"not 0x-prefixed 20-byte hex addresses: {bad}" if bad else None


@dataclass(frozen=True)
class AuthConfig:
    mode: str = dataclasses.field(default="none", metadata=c.check(c.one_of("none", "verify", "allowlist")))
    allowlist: tuple[str, ...] = dataclasses.field(default=(), metadata=c.check(_addresses))


@dataclass(frozen=True)
class TlsConfig:
    cert: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class LimitsConfig:
    max_artifact_bytes: int = dataclasses.field(default=2 * GIB, metadata=c.check(c.positive))
    max_decompressed_bytes: int = dataclasses.field(default=4 * GIB, metadata=c.check(c.positive))


@dataclass(frozen=True)
class SchedulerConfig:
    heartbeat_interval_secs: float = dataclasses.field(default=10.0, metadata=c.check(c.positive))
    heartbeat_timeout_secs: float = dataclasses.field(default=45.0, metadata=c.check(c.positive))
    proof_timeout_mins: float = dataclasses.field(default=300.0, metadata=c.check(c.positive))
    progress_timeout_mins: float = dataclasses.field(default=0.0, metadata=c.check(c.non_negative))
    max_attempts: int = dataclasses.field(default=3, metadata=c.check(c.positive))
    max_infra_retries: int = dataclasses.field(default=5, metadata=c.check(c.non_negative))
    max_strikes: int = dataclasses.field(default=3, metadata=c.check(c.positive))
    reattach_grace_secs: float = dataclasses.field(default=60.0, metadata=c.check(c.non_negative))
    reconnect_grace_secs: float = dataclasses.field(default=10.0, metadata=c.check(c.non_negative))
    deadline_grace_secs: float = dataclasses.field(default=60.0, metadata=c.check(c.non_negative))


@dataclass(frozen=True)
class ExecutionConfig:
    enabled: bool = True
    max_cycles: int = dataclasses.field(default=2_000_000_000, metadata=c.check(c.positive))
    processes: int = dataclasses.field(default=1, metadata=c.check(c.positive))


@dataclass(frozen=True)
class RetentionConfig:
    proof_days: float = dataclasses.field(default=7.0, metadata=c.check(c.positive))
    input_days: float = dataclasses.field(default=2.0, metadata=c.check(c.positive))
    sweep_interval_secs: float = dataclasses.field(default=3600.0, metadata=c.check(c.positive))


@dataclass(frozen=True)
class HierophantConfig:
    grpc_port: int = dataclasses.field(default=9000, metadata=c.check(c.port))
    http_port: int = dataclasses.field(default=9010, metadata=c.check(c.port))
    bind_address: str = "127.0.0.1"
    public_url: str = dataclasses.field(default="http://127.0.0.1:9010", metadata=c.check(_url))
    data_dir: str = "var/hierophant"
    worker_token: str = c.required(lambda v: None if v else "must not be empty")
    admin_token: str | None = None
    log_level: str = dataclasses.field(default="info", metadata=c.check(c.one_of("debug", "info", "warn", "error")))
    grpc_threads: int = dataclasses.field(default=32, metadata=c.check(c.positive))
    auth: AuthConfig = AuthConfig()
    tls: TlsConfig = TlsConfig()
    limits: LimitsConfig = LimitsConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    execution: ExecutionConfig = ExecutionConfig()
    retention: RetentionConfig = RetentionConfig()

    @property
    def public_base(self) -> str:
        return self.public_url.rstrip("/")


def load_config(path: str | Path | None, environ: Mapping[str, str] | None = None) -> HierophantConfig:
    """Load and validate; raises `ConfigError` naming the offending key."""
    cfg = c.load(HierophantConfig, path, "HIEROPHANT", environ)
    if (cfg.tls.cert is None) != (cfg.tls.key is None):
        raise c.ConfigError("tls.cert and tls.key must be given together")
    for name in ("cert", "key"):
        p = getattr(cfg.tls, name)
        if p is not None and not Path(p).is_file():
            raise c.ConfigError(f"bad value for tls.{name}: no such file {p!r}")
    if cfg.auth.mode == "allowlist" and not cfg.auth.allowlist:
        raise c.ConfigError("auth.allowlist must list at least one address when auth.mode = 'allowlist'")
    return cfg
