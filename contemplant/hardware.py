"""Host resources reported in `register` and heartbeats; the hierophant shows them in
`GET /contemplants` (`hardware`). CPU, RAM and load come from psutil; `gpus` (only when NVML
sees GPUs) from contemplant.monitoring. Everything here is cheap enough for the reactor.
"""
from __future__ import annotations

import os

import psutil

from contemplant.monitoring import GpuMonitor

GPUS = GpuMonitor()


def snapshot(gpus: GpuMonitor = GPUS) -> dict:
    mem = psutil.virtual_memory()
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    out = {"cpus": psutil.cpu_count() or 0,
           "cpu_percent": psutil.cpu_percent(interval=None),   # since the previous call
           "ram_bytes": mem.total, "ram_available_bytes": mem.available,
           "ram_used_bytes": mem.total - mem.available, "load": load}
    devices = gpus.snapshot()
    if devices:
        out["gpus"] = devices
    return out
