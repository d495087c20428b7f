"""GPU monitoring through NVML (`nvidia-ml-py`, imported as `pynvml`), for heartbeats.

The import is guarded: no library, no driver or no GPU means no GPU section and no error
(logged once). NVML is initialised once; each `sample()` asks every device for its name,
memory, utilisation, temperature and power draw (also shown as contemplant_gpu_* metrics).
`GpuMonitor.snapshot()` never blocks the reactor: it returns the last sample and refreshes it
in a thread (the first call samples inline so the `register` message already carries the GPUs).
"""
from __future__ import annotations

import logging
import threading
from types import ModuleType
from typing import Callable, Optional

log = logging.getLogger("contemplant.monitoring")


def _import_pynvml() -> Optional[ModuleType]:
    try:
        import pynvml
    except ImportError:
        return None
    return pynvml


class GpuMonitor:
    """NVML, initialised once; `nvml` and `defer_to_thread` are for tests."""

    def __init__(self, nvml: Optional[ModuleType] = None,
                 defer_to_thread: Optional[Callable] = None) -> None:
        self._nvml = nvml
        self._explicit = nvml is not None
        self._state = "new"            # new / ready / off
        self._handles: list = []
        self._last: list[dict] = []
        self._refreshing = False
        self._lock = threading.Lock()
        self._defer = defer_to_thread

    def _init(self) -> bool:
        """Initialise NVML once; False (for good) when there is no NVML or no GPU."""
        if self._state != "new":
            return self._state == "ready"
        nvml = self._nvml if self._explicit else _import_pynvml()
        self._state = "off"
        if nvml is None:
            log.info("no GPU monitoring: nvidia-ml-py (pynvml) is not installed")
            return False
        try:
            nvml.nvmlInit()
            self._handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())]
        except Exception as e:  # noqa: BLE001 - NVMLError_LibraryNotFound, DriverNotLoaded, ...
            log.info("no GPU monitoring: NVML is unavailable (%s)", e)
            return False
        self._nvml, self._state = nvml, "ready"
        return True

    def sample(self) -> list[dict]:
        """One dict per GPU (blocking NVML calls); [] without NVML."""
        with self._lock:
            if not self._init():
                return []
            return [self._device(i, h) for i, h in enumerate(self._handles)]

    def _device(self, index: int, handle) -> dict:
        nvml = self._nvml
        out: dict = {"index": index}
        name = _try(nvml.nvmlDeviceGetName, handle)
        out["name"] = name.decode() if isinstance(name, bytes) else name
        mem = _try(nvml.nvmlDeviceGetMemoryInfo, handle)
        out["memory_used_bytes"] = getattr(mem, "used", None)
        out["memory_total_bytes"] = getattr(mem, "total", None)
        util = _try(nvml.nvmlDeviceGetUtilizationRates, handle)
        out["utilization_percent"] = getattr(util, "gpu", None)
        out["temperature_c"] = _try(nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU)
        milliwatts = _try(nvml.nvmlDeviceGetPowerUsage, handle)
        out["power_watts"] = None if milliwatts is None else milliwatts / 1000
        return out

    def snapshot(self) -> list[dict]:
        """The last sample (inline on the first call), refreshed in a thread for next time."""
        if self._state == "new":
            self._last = self.sample()
            return self._last
        if self._state == "ready" and not self._refreshing:
            self._refresh()
        return self._last

    def _refresh(self) -> None:
        defer_to_thread = self._defer
        if defer_to_thread is None:
            from twisted.internet import threads
            defer_to_thread = threads.deferToThread
        self._refreshing = True
        d = defer_to_thread(self.sample)
        d.addCallback(self._store)
        d.addErrback(lambda f: log.warning("GPU sampling failed\n%s", f.getTraceback()))
        d.addBoth(self._done)

    def _store(self, sample: list[dict]) -> None:
        self._last = sample

    def _done(self, _) -> None:
        self._refreshing = False


def _try(fn, *args):
    """One NVML query; None when this device does not support it (NVMLError_NotSupported)."""
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001
        return None
