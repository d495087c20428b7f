"""Record <-> row mapping shared by the SQLite (`hierophant.db`) and PostgreSQL
(`hierophant.pgstore`) stores: which table holds which record kind, its primary key, and how
each field is encoded in a column. Pure functions; any thread may call them.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any

from hierophant.model import (
    Artifact,
    ArtifactKind,
    DeadWorker,
    Execution,
    Fulfillment,
    Program,
    ProofRecord,
    ProofRequest,
)
from hierophant.store import Snapshot

U64 = 1 << 64


def u64_to_sql(v: int) -> int:
    """SQL integers are signed 64-bit; store u64 (e.g. u64::MAX cycle limits, §5.11) wrapped."""
    return v - U64 if v >= 1 << 63 else v


def u64_from_sql(v: int) -> int:
    return v + U64 if v < 0 else v


def _json_hex_list(v: list[bytes]) -> str:
    return json.dumps([x.hex() for x in v])


def _hex_list(v: str) -> tuple[bytes, ...]:
    return tuple(bytes.fromhex(x) for x in json.loads(v))


_U64 = (u64_to_sql, u64_from_sql)
_IDENT = (lambda v: v, lambda v: v)

# table -> (record class, primary key, {field: (to_sql, from_sql)})
TABLES: dict[str, tuple[type, str, dict[str, tuple[Callable, Callable]]]] = {
    "programs": (Program, "vk_hash", {}),
    "artifacts": (Artifact, "id", {"kind": (int, ArtifactKind)}),
    "requests": (ProofRequest, "request_id", {
        "deadline": _U64, "cycle_limit": _U64, "gas_limit": _U64, "min_auction_period": _U64,
        "nonce": _U64, "cycles": _U64,
        "whitelist": (_json_hex_list, _hex_list),
        "extra": (json.dumps, json.loads),
        "fulfillment": (int, Fulfillment), "execution": (int, Execution),
    }),
    "proof_history": (ProofRecord, "id", {}),
    "dead_workers": (DeadWorker, "worker_id", {}),
}
RECORD_TABLE = {cls: name for name, (cls, _, _) in TABLES.items()}


def columns(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def table_of(record: Any) -> str:
    return RECORD_TABLE[type(record)]


def primary_key(table: str) -> str:
    return TABLES[table][1]


def to_row(record: Any) -> tuple:
    cls, _, codecs = TABLES[table_of(record)]
    row = []
    for col in columns(cls):
        v = getattr(record, col)
        row.append(None if v is None else codecs.get(col, _IDENT)[0](v))
    return tuple(row)


def from_row(table: str, row: Mapping[str, Any]) -> Any:
    cls, _, codecs = TABLES[table]
    kwargs = {}
    for col in columns(cls):
        v = row[col]
        kwargs[col] = None if v is None else codecs.get(col, _IDENT)[1](v)
    return cls(**kwargs)


def read_snapshot(query: Callable[[str], list]) -> Snapshot:
    """Every record, through `query(sql) -> rows` (mappings of column -> value)."""
    rows = {t: query(f"SELECT * FROM {t}") for t in TABLES}
    nonces = {bytes(r["address"]): u64_from_sql(r["last"]) for r in query("SELECT * FROM nonces")}
    return snapshot(rows, nonces)


def snapshot(rows: Mapping[str, list], nonces: dict[bytes, int]) -> Snapshot:
    """Build the Snapshot from each table's rows (mappings of column -> value)."""
    return Snapshot(
        programs=[from_row("programs", r) for r in rows["programs"]],
        artifacts=[from_row("artifacts", r) for r in rows["artifacts"]],
        requests=[from_row("requests", r) for r in rows["requests"]],
        nonces=nonces,
        history=[from_row("proof_history", r) for r in rows["proof_history"]],
        dead_workers=[from_row("dead_workers", r) for r in rows["dead_workers"]],
    )
