"""Host monitoring: GPU sections shaped from NVML (a fake pynvml here; the real one only on a
GPU host), absent NVML means no `gpus` and no error, and the psutil part of `snapshot()`."""
from __future__ import annotations

import types

import pytest
from twisted.internet import defer

from contemplant import hardware
from contemplant.monitoring import GpuMonitor


class NVMLError(Exception):
    pass


def fake_nvml(count=2, fail_init=False, unsupported=()):
    calls = {"init": 0}

    def init():
        calls["init"] += 1
        if fail_init:
            raise NVMLError("Driver Not Loaded")

    def query(name, value):
        def fn(handle, *args):
            if (name, handle) in unsupported:
                raise NVMLError("Not Supported")
            return value(handle)
        return fn

    m = types.SimpleNamespace(
        calls=calls, NVML_TEMPERATURE_GPU=0, nvmlInit=init, nvmlDeviceGetCount=lambda: count,
        nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetName=query("name", lambda h: b"NVIDIA H100 80GB HBM3" if h == 0 else "NVIDIA L4"),
        nvmlDeviceGetMemoryInfo=query("mem", lambda h: types.SimpleNamespace(used=1 << 30, total=80 << 30, free=0)),
        nvmlDeviceGetUtilizationRates=query("util", lambda h: types.SimpleNamespace(gpu=97 - h, memory=40)),
        nvmlDeviceGetTemperature=query("temp", lambda h: 61 + h),
        nvmlDeviceGetPowerUsage=query("power", lambda h: 350_500 - h * 1000))
    return m


def test_sample_shape():
    gpus = GpuMonitor(fake_nvml(unsupported={("temp", 1)})).sample()
    assert gpus == [
        {"index": 0, "name": "NVIDIA H100 80GB HBM3", "memory_used_bytes": 1 << 30,
         "memory_total_bytes": 80 << 30, "utilization_percent": 97, "temperature_c": 61, "power_watts": 350.5},
        {"index": 1, "name": "NVIDIA L4", "memory_used_bytes": 1 << 30,
         "memory_total_bytes": 80 << 30, "utilization_percent": 96, "temperature_c": None,
         "power_watts": 349.5}]


def test_nvml_is_initialised_once():
    nvml = fake_nvml()
    m = GpuMonitor(nvml, defer_to_thread=lambda f: defer.succeed(f()))
    for _ in range(5):
        assert len(m.snapshot()) == 2
    assert nvml.calls["init"] == 1


def test_no_driver_means_no_gpus_and_no_retry():
    nvml = fake_nvml(fail_init=True)
    m = GpuMonitor(nvml)
    assert m.snapshot() == [] and m.snapshot() == [] and m.sample() == []
    assert nvml.calls["init"] == 1


def test_heartbeats_refresh_in_a_thread_and_return_the_last_sample():
    nvml = fake_nvml(count=1)
    pending: list = []
    m = GpuMonitor(nvml, defer_to_thread=lambda fn: _later(pending, fn))
    first = m.snapshot()                                   # inline: register carries the GPUs
    assert first[0]["utilization_percent"] == 97 and not pending
    nvml.nvmlDeviceGetUtilizationRates = lambda h: types.SimpleNamespace(gpu=5)
    assert m.snapshot() == first and len(pending) == 1     # refresh started, old value returned
    assert m.snapshot() == first and len(pending) == 1     # one refresh at a time
    d, fn = pending.pop()
    d.callback(fn())
    assert m.snapshot()[0]["utilization_percent"] == 5


def _later(pending: list, fn):
    d = defer.Deferred()
    pending.append((d, fn))
    return d


def test_snapshot_without_gpus_has_no_gpu_section():
    snap = hardware.snapshot(GpuMonitor(fake_nvml(fail_init=True)))
    assert "gpus" not in snap
    assert snap["cpus"] >= 1 and snap["ram_bytes"] >= snap["ram_available_bytes"] > 0
    assert snap["ram_used_bytes"] == snap["ram_bytes"] - snap["ram_available_bytes"]
    assert 0.0 <= snap["cpu_percent"] <= 100.0 and len(snap["load"]) == 3


def test_snapshot_with_gpus():
    snap = hardware.snapshot(GpuMonitor(fake_nvml(count=1)))
    assert snap["gpus"][0]["name"] == "NVIDIA H100 80GB HBM3"


def test_default_monitor_never_raises():
    assert isinstance(hardware.snapshot(), dict)           # whatever this host has


def _real_gpu() -> bool:
    try:
        import pynvml
        pynvml.nvmlInit()
        return pynvml.nvmlDeviceGetCount() > 0
    except Exception:  # noqa: BLE001
        return False


@pytest.mark.skipif(not _real_gpu(), reason="needs nvidia-ml-py and an NVIDIA GPU")
def test_real_nvml():
    gpus = GpuMonitor().sample()
    assert gpus and gpus[0]["memory_total_bytes"] > 0 and isinstance(gpus[0]["name"], str)
