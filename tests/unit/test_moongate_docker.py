"""The moongate backend's docker launch (prover-backends.md §2.1) with a fake docker client
(tests/fake_moongate.py): one container per GPU with its device request, loopback port and
env; progress from container logs (§2.6); removal on stop; restart after a cancel."""
from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import defer, reactor

from contemplant.backends.base import ELF_FILE, STDIN_FILE
from contemplant.backends.moongate import MoongateBackend
from contemplant.config import ProverConfig
from network_lib import bincode
from network_lib.bincode import SP1Stdin
from tests.fake_moongate import CYCLES, FakeDocker
from tests.unit.test_moongate import ELF, _tick, job

IMAGE = "public.ecr.aws/succinct-labs/moongate:v5.0.0"
WAIT = 10


def backend(client: FakeDocker, gpus=(0,)) -> MoongateBackend:
    prover = ProverConfig(backend="moongate", launch="docker", image=IMAGE, endpoint=None, gpus=tuple(gpus))
    return MoongateBackend(prover, docker_factory=lambda: client, ready_interval=0.01, ready_timeout=5)


def workdir(tmp_path):
    (tmp_path / ELF_FILE).write_bytes(ELF)
    (tmp_path / STDIN_FILE).write_bytes(SP1Stdin([b"\x07" * 8]).encode())
    return tmp_path


@pytest_twisted.ensureDeferred
async def test_one_container_per_gpu_then_removed_on_stop():
    client = FakeDocker(not_ready=1)
    b = backend(client, gpus=(0, 3))
    assert b.capabilities.slots == 2
    await b.start()
    assert client.images.pulled == [IMAGE]
    assert len(client.runs) == 2
    ports = set()
    for (image, kw), gpu in zip(client.runs, (0, 3)):
        assert image == IMAGE and kw["detach"] and kw["name"] == f"hierophant-moongate-gpu{gpu}"
        assert kw["environment"] == {"RUST_LOG": "info"}
        assert kw["ports"] == {"3000/tcp": ("127.0.0.1", None)}
        (req,) = kw["device_requests"]
        assert req["DeviceIDs"] == [str(gpu)] and req["Capabilities"] == [["gpu"]]
        ports.add(client.containers.by_name[kw["name"]].attrs["NetworkSettings"]["Ports"]["3000/tcp"][0]["HostPort"])
    assert len(ports) == 2                            # each its own host port
    await b.stop()
    assert sorted(client.removed) == ["hierophant-moongate-gpu0", "hierophant-moongate-gpu3"]


@pytest_twisted.ensureDeferred
async def test_a_leftover_container_is_replaced():
    client = FakeDocker(image_present=True)
    await backend(client).start()
    b = backend(client)
    await b.start()
    assert client.images.pulled == [] and client.removed == ["hierophant-moongate-gpu0"]
    await b.stop()


@pytest_twisted.ensureDeferred
async def test_a_container_that_exits_fails_start_with_its_log():
    client = FakeDocker(exit_at_once=True, not_ready=100)
    with pytest.raises(Exception, match="moongate container hierophant-moongate-gpu0 exited"):
        await backend(client).start()


@pytest_twisted.ensureDeferred
async def test_proof_with_progress_from_container_logs(tmp_path):
    client = FakeDocker()
    b = backend(client)
    await b.start()
    events = []
    path = await b.prove(job(1, total_cycles=CYCLES), workdir(tmp_path),
                         lambda *a: events.append(a)).addTimeout(WAIT, reactor)
    bincode.inspect_proof(path.read_bytes(), mode=1, circuit_version="v5.0.0", expected_public_values=b"\x07" * 8)
    for _ in range(500):                              # log lines arrive through a thread
        if sum(1 for e in events if e[0] == "prove") >= 5:
            break
        await _tick()
    assert [e for e in events if e[0] == "execute"] == [("execute", 50.0, CYCLES // 2), ("execute", 100.0, CYCLES)]
    # one shard counted while executing; then each shard line is 1 / (2.2 × 1), capped at 99
    assert [e[1] for e in events if e[0] == "prove"] == pytest.approx([0.0, 100 / 2.2, 200 / 2.2, 99.0, 99.0])
    await b.stop()


@pytest_twisted.ensureDeferred
async def test_cancel_restarts_the_container(tmp_path):
    client = FakeDocker()
    b = backend(client)
    await b.start()
    first = client.containers.by_name["hierophant-moongate-gpu0"]
    first.moongate.hold.add("ProveCoreStateless")
    j = job(1)
    d = b.prove(j, workdir(tmp_path), lambda *a: None)
    for _ in range(500):
        if any(m == "ProveCoreStateless" for m, _, _ in first.moongate.calls):
            break
        await _tick()
    b.cancel(j)
    with pytest.raises(defer.CancelledError):
        await d
    for _ in range(500):
        if b.pool.idle:
            break
        await _tick()
    assert b.pool.idle and len(client.runs) == 2 and first.removed
    second = client.containers.by_name["hierophant-moongate-gpu0"]
    assert second is not first and b.pool.idle[0].twirp.base.endswith(
        f":{second.attrs['NetworkSettings']['Ports']['3000/tcp'][0]['HostPort']}/twirp/")
    await b.stop()
