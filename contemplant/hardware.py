"""Host resources reported in `register` and heartbeats (DESIGN.md "monitoring"; GPUs later)."""
from __future__ import annotations

import os

import psutil


def snapshot() -> dict:
    mem = psutil.virtual_memory()
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {"cpus": psutil.cpu_count() or 0, "ram_bytes": mem.total,
            "ram_available_bytes": mem.available, "load": load}
