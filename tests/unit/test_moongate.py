"""The moongate backend (prover-backends.md §2): payload slicing, the twirp client, log
progress, and whole jobs against the fake moongate (tests/fake_moongate.py) at an endpoint."""
from __future__ import annotations

import struct

import pytest
import pytest_twisted
from twisted.internet import defer, reactor

from contemplant.backends import build
from contemplant.backends.base import ELF_FILE, STDIN_FILE, BackendFailure
from contemplant.backends.moongate import MoongateBackend, payloads
from contemplant.backends.moongate.progress import LogProgress
from contemplant.backends.moongate.twirp import base_url, decode_bytes_message, decode_ready, \
    encode_bytes_message, error_message
from contemplant.config import MOONGATE_IMAGE, ProverConfig
from network_lib import bincode
from network_lib.bincode import SP1Stdin, Writer
from network_lib.config import ConfigError
from network_lib.worker_protocol import Job
from tests.fake_moongate import FakeMoongate, v5_vk

ELF = b"\x7fELF" + bytes(range(200))
WAIT = 10


def job(mode=1, total_cycles=None, attempt=1) -> Job:
    return Job(request_id="0x" + "cd" * 32, attempt=attempt, mode=mode, circuit_version="v5.0.0",
               vk_hash="0x" + "11" * 32, vk="", elf_url="", stdin_url="", proof_upload_url="",
               deadline=2**40, cycle_limit=10**9, total_cycles=total_cycles)


def stdin(*bufs: bytes, ptr: int = 0) -> bytes:
    return SP1Stdin(list(bufs), ptr=ptr).encode()


# -- payloads (§2.3) -----------------------------------------------------------------------
def test_request_payloads():
    assert payloads.setup_request(b"abc") == struct.pack("<Q", 3) + b"abc"
    assert payloads.prove_core_request(b"S", b"PK") == b"SPK"
    assert payloads.compress_request(b"VK", b"CORE") == b"VKCORE" + bytes(8)


def test_v5_vk_length():
    vk = v5_vk()
    assert payloads.v5_vk_length(vk + b"junk", 0) == len(vk)
    with pytest.raises(bincode.BincodeError):
        payloads.v5_vk_length(vk[:-3], 0)


@pytest.mark.parametrize("anchored", [True, False])
def test_split_setup_result(anchored):
    vk = v5_vk()
    pk = b"STARK" * 50 + Writer().bytes(ELF).getvalue() + vk
    got = payloads.split_setup_result(pk + vk, ELF if anchored else b"another elf")
    assert got == (pk, vk)


def test_split_setup_result_refuses_garbage():
    with pytest.raises(payloads.PayloadError):
        payloads.split_setup_result(b"\xff" * 500, ELF)


def test_split_core_proof_finds_the_echoed_stdin():
    s = stdin(b"12345678")
    # public values that contain the stdin bytes themselves must not confuse the slicing
    pv = s + b"tail"
    shards = Writer().u64(1).raw(b"SHARD").getvalue()
    result = shards + s + Writer().bytes(pv).u64(77).getvalue()
    assert payloads.split_core_proof(result, s) == (shards, pv, 77)


def test_split_core_proof_refuses_a_result_without_our_stdin():
    with pytest.raises(payloads.PayloadError):
        payloads.split_core_proof(bytes(100), stdin(b"x"))


def test_canonical_stdin_resets_ptr():
    assert payloads.canonical_stdin(stdin(b"a", ptr=5)).encode() == stdin(b"a")
    with pytest.raises(payloads.PayloadError):
        payloads.canonical_stdin(b"\x01")


def test_proof_from_network_layouts():
    core = payloads.core_proof_from_network(b"SHARDS", b"pv")
    assert core == struct.pack("<I", 0) + b"SHARDS" + bincode.encode_proof_tail(b"pv", "v5.0.0")
    comp = payloads.compressed_proof_from_network(b"REDUCE", b"pv")
    assert comp[:4] == struct.pack("<I", 1) and comp.endswith(b"\x06\x00\x00\x00\x00\x00\x00\x00v5.0.0")


# -- twirp (§2.2) --------------------------------------------------------------------------
def test_twirp_wire():
    assert base_url("http://h:3000") == base_url("http://h:3000/twirp/") == "http://h:3000/twirp/"
    assert encode_bytes_message(b"") == b"" and encode_bytes_message(b"ab") == b"\x0a\x02ab"
    assert decode_bytes_message(b"\x0a\x02ab") == b"ab" and decode_bytes_message(b"") == b""
    assert decode_ready(b"\x08\x01") and not decode_ready(b"")
    assert error_message(500, b'{"code":"internal","msg":"CUDA OOM"}') == "internal: CUDA OOM"
    assert error_message(502, b"<html>bad gateway") == "HTTP 502: <html>bad gateway"


# -- progress from logs (§2.6) -------------------------------------------------------------
def test_log_progress():
    events, total = [], {"n": None}
    p = LogProgress(lambda *a: events.append(a), lambda: total["n"])
    p.feed("INFO clk = 100 pc = 0x10")
    total["n"] = 400                       # a job_update arrives mid-run
    p.feed("Shard: [a]")
    p.feed("INFO clk=200")
    p.feed("Shard: [b]")
    p.feed("clk = 400")
    p.feed("noise")
    p.feed("Shard: [0] proving")
    p.feed("Shard: [1] proving")
    assert events == [("execute", None, 100), ("execute", 50.0, 200), ("execute", 100.0, 400),
                      ("prove", pytest.approx(100 / 4.4), 400), ("prove", pytest.approx(200 / 4.4), 400)]


# -- configuration -------------------------------------------------------------------------
def moongate(**kw) -> ProverConfig:
    return ProverConfig(**{"backend": "moongate", "launch": "endpoint", "image": MOONGATE_IMAGE,
                           "endpoint": None, "gpus": (0,), **kw})


@pytest.mark.parametrize("kw,match", [({"launch": "k8s"}, "launch"), ({"endpoint": None}, "endpoint"),
                                      ({"launch": "docker", "endpoint": "http://x"}, "endpoint")])
def test_config_errors(kw, match):
    with pytest.raises(ConfigError, match=match):
        build(moongate(**kw), 0)


def test_capabilities():
    b = build(moongate(endpoint="http://a:3000,http://b:3000"), 0)
    assert (b.capabilities.circuit_versions, b.capabilities.modes, b.capabilities.slots) == (("v5.0.0",), (1, 2), 2)


# -- whole jobs against the fake server ----------------------------------------------------
@pytest_twisted.async_yield_fixture
async def fake():
    f = FakeMoongate()
    f.listen()
    yield f
    await f.port.stopListening()


async def started(fake, **kw) -> MoongateBackend:
    b = MoongateBackend(moongate(endpoint=f"http://127.0.0.1:{fake.port.getHost().port}"),
                        ready_interval=0.01, **kw)
    await b.start()
    return b


def workdir(tmp_path, name="w", data=b"\x2a" * 8, ptr=0):
    d = tmp_path / name
    d.mkdir()
    (d / ELF_FILE).write_bytes(ELF)
    (d / STDIN_FILE).write_bytes(stdin(data, ptr=ptr))
    return d


@pytest_twisted.ensureDeferred
async def test_core_proof(fake, tmp_path):
    fake.not_ready = 2                     # start() polls Ready until it says yes
    b = await started(fake)
    events = []
    path = await b.prove(job(1), workdir(tmp_path, ptr=3), lambda *a: events.append(a)).addTimeout(WAIT, reactor)
    proof = path.read_bytes()
    info = bincode.inspect_proof(proof, mode=1, circuit_version="v5.0.0", expected_public_values=b"\x2a" * 8)
    assert info.sp1_version == "v5.0.0"
    shards = Writer().u64(2).raw(b"SHARD-0SHARD-1").getvalue()
    assert proof == payloads.core_proof_from_network(shards, b"\x2a" * 8)
    methods = [m for m, _, _ in fake.calls]
    assert methods == ["Ready"] * 3 + ["Setup", "ProveCoreStateless"]
    assert {ct for _, ct, _ in fake.calls} == {"application/protobuf"}
    assert fake.calls[-1][2].startswith(stdin(b"\x2a" * 8))     # canonical stdin (ptr 0), then pk
    assert [e[0] for e in events] == ["setup", "prove"]          # endpoint: no logs, no log progress


@pytest_twisted.ensureDeferred
async def test_compressed_proof_and_the_setup_cache(fake, tmp_path):
    b = await started(fake)
    p1 = await b.prove(job(2), workdir(tmp_path, "a"), lambda *a: None)
    p2 = await b.prove(job(2, attempt=2), workdir(tmp_path, "b", b"\x01" * 8), lambda *a: None)
    vk = next(iter(fake.keys.values()))
    assert p1.read_bytes() == payloads.compressed_proof_from_network(vk + b"REDUCE-SHARD-PROOF", b"\x2a" * 8)
    bincode.inspect_proof(p2.read_bytes(), mode=2, circuit_version="v5.0.0", expected_public_values=b"\x01" * 8)
    assert [m for m, _, _ in fake.calls if m != "Ready"] == ["Setup", "ProveCoreStateless", "Compress",
                                                             "ProveCoreStateless", "Compress"]


@pytest_twisted.ensureDeferred
async def test_twirp_error_is_infrastructure_with_the_servers_message(fake, tmp_path):
    b = await started(fake)
    fake.errors["ProveCoreStateless"] = (500, "internal", "CUDA error: out of memory")
    with pytest.raises(BackendFailure) as e:
        await b.prove(job(1), workdir(tmp_path), lambda *a: None)
    assert e.value.kind == "infrastructure" and "internal: CUDA error: out of memory" in e.value.message
    assert b.pool.idle                     # the server is free again


@pytest_twisted.ensureDeferred
async def test_bad_payload_is_infrastructure(fake, tmp_path):
    b = await started(fake)
    fake.garbage.add("Setup")
    with pytest.raises(BackendFailure, match="bad payload"):
        await b.prove(job(1), workdir(tmp_path), lambda *a: None)


@pytest_twisted.ensureDeferred
async def test_compressed_with_deferred_proofs_is_refused(fake, tmp_path):
    b = await started(fake)
    d = workdir(tmp_path)
    (d / STDIN_FILE).write_bytes(SP1Stdin([b"x"], proofs_raw=struct.pack("<Q", 1) + b"proof").encode())
    with pytest.raises(BackendFailure, match="deferred proofs"):
        await b.prove(job(2), d, lambda *a: None)


@pytest_twisted.ensureDeferred
async def test_unreachable_endpoint_fails_start():
    b = MoongateBackend(moongate(endpoint="http://127.0.0.1:1"), ready_interval=0.01, ready_timeout=0.05)
    with pytest.raises(Exception, match="not ready"):
        await b.start()


@pytest_twisted.ensureDeferred
async def test_cancel_drops_the_request(fake, tmp_path):
    b = await started(fake)
    fake.hold.add("ProveCoreStateless")
    j = job(1)
    d = b.prove(j, workdir(tmp_path), lambda *a: None)
    for _ in range(500):                   # wait until the held request reached the server
        if any(m == "ProveCoreStateless" for m, _, _ in fake.calls):
            break
        await _tick()
    b.cancel(j)
    with pytest.raises(defer.CancelledError):
        await d
    assert await fake.dropped.addTimeout(WAIT, reactor) == "ProveCoreStateless"
    for _ in range(500):                   # endpoint "restart" = Ready again, then back in the pool
        if b.pool.idle:
            break
        await _tick()
    assert b.pool.idle


def _tick() -> defer.Deferred:
    d = defer.Deferred()
    reactor.callLater(0.005, d.callback, None)
    return d
