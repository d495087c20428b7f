"""The contemplant against a small fake hierophant (docs/worker-protocol.md): register,
heartbeat, jobs over HTTP, cancel, reconnect with running jobs, fatal closes, draining.

The fake speaks the hierophant's side just enough: checks the bearer token at the upgrade
(401), answers `register` with `registered` (or closes 4002 on a MAJOR mismatch), serves
ELF/stdin and takes the proof PUT on a twisted.web site. What it sees goes into
DeferredQueues, so tests wait on events, never on sleeps.
"""
from __future__ import annotations

import base64
import json
import os
import struct
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import pytest_twisted
import treq

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.types import ConnectionDeny
from twisted.internet import defer, reactor
from twisted.web import resource, server

from contemplant import exits
from contemplant.config import load_config
from contemplant.service import Contemplant
from network_lib import bincode
from network_lib import worker_protocol as wp
from tests.integration import sp1data

TOKEN = "fake-worker-token"
ELF = sp1data.elf()              # a real guest: the mock backend executes it
STDIN = sp1data.stdin(5)
VK_HASH = "0x" + b"".join(struct.pack(">I", w) for w in range(1, 9)).hex()
VK = base64.b64encode(bytes(104)).decode()
WAIT_SECS = 8


def timeout(d: defer.Deferred, secs: float = WAIT_SECS) -> defer.Deferred:
    return d.addTimeout(secs, reactor)


class _WsProtocol(WebSocketServerProtocol):
    def onConnect(self, request):
        if request.headers.get("authorization") != f"Bearer {self.factory.fake.token}":
            raise ConnectionDeny(401, "bad worker token")

    def onOpen(self):
        self.factory.fake.sockets.append(self)

    def onMessage(self, payload, isBinary):
        self.factory.fake.received(self, wp.parse(payload))

    def onClose(self, wasClean, code, reason):
        self.factory.fake.closed.put((self, code))

    def send(self, msg: wp.Message) -> None:
        self.sendMessage(msg.to_json().encode(), isBinary=False)


class _Files(resource.Resource):
    isLeaf = True

    def __init__(self, fake: "FakeHierophant") -> None:
        super().__init__()
        self.fake = fake

    def render_GET(self, request):
        name = request.postpath[-1].decode()
        self.fake.gets.put((name, request.getHeader("authorization")))
        return {"elf": ELF, "stdin": STDIN}[name]

    def render_PUT(self, request):
        body = request.content.read()
        on_put, hold, (code, reason) = self.fake.on_put, self.fake.hold_put, self.fake.put_answer
        if on_put is not None:
            on_put()
        request.setResponseCode(code)
        if hold is not None:
            hold.addCallback(lambda _: (request.write(reason.encode()), request.finish()))
        # Last: a test waiting on `puts` may change the settings above synchronously.
        self.fake.puts.put((request.postpath[-1].decode(), request.getHeader("authorization"), body))
        return server.NOT_DONE_YET if hold is not None else reason.encode()


class FakeHierophant:
    def __init__(self, token: str = TOKEN, heartbeat: float = 0.2) -> None:
        self.token = token
        self.heartbeat = heartbeat
        self.messages: defer.DeferredQueue = defer.DeferredQueue()
        self.gets: defer.DeferredQueue = defer.DeferredQueue()
        self.puts: defer.DeferredQueue = defer.DeferredQueue()
        self.closed: defer.DeferredQueue = defer.DeferredQueue()
        self.sockets: list[_WsProtocol] = []
        self.resume: list = []
        self.cancel: list = []
        self.put_answer = (200, "OK")
        self.on_put = None          # called before the PUT is answered
        self.hold_put = None        # a Deferred: the PUT is answered when it fires
        self.ws_port = self.listen_ws(0)
        self.ws_port_number = self.ws_port.getHost().port
        site = server.Site(_Files(self))
        site.noisy = False
        self.http_port = reactor.listenTCP(0, site, interface="127.0.0.1")

    def listen_ws(self, port: int):
        factory = WebSocketServerFactory("ws://127.0.0.1")
        factory.protocol = _WsProtocol
        factory.fake = self
        factory.noisy = False
        return reactor.listenTCP(port, factory, interface="127.0.0.1")

    @defer.inlineCallbacks
    def go_away(self):
        """Close the socket listener and the open sockets (the hierophant is down)."""
        yield defer.maybeDeferred(self.ws_port.stopListening)
        for s in self.sockets:
            if s.transport is not None:
                s.transport.abortConnection()

    def come_back(self) -> None:
        self.ws_port = self.listen_ws(self.ws_port_number)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port_number}/ws"

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.http_port.getHost().port}/jobs/tok/{name}"

    @property
    def socket(self) -> _WsProtocol:
        return self.sockets[-1]

    def received(self, proto: _WsProtocol, msg: wp.Message) -> None:
        if isinstance(msg, wp.Register):
            if wp.major(msg.protocol) != wp.major(wp.PROTOCOL_VERSION):
                proto.sendClose(wp.CLOSE_VERSION, f"contemplant speaks protocol {msg.protocol}, "
                                                  f"hierophant {wp.PROTOCOL_VERSION}")
            else:
                proto.send(wp.Registered(wp.PROTOCOL_VERSION, msg.worker_id, self.heartbeat,
                                         resume=self.resume, cancel=self.cancel))
        self.messages.put(msg)

    @defer.inlineCallbacks
    def next(self, *types: type, skip=(wp.Heartbeat, wp.Progress)):
        """The next message of one of `types`, skipping heartbeats/progress unless asked for."""
        end = reactor.seconds() + WAIT_SECS
        while True:
            msg = yield timeout(self.messages.get(), max(0.01, end - reactor.seconds()))
            if isinstance(msg, types):
                return msg
            if not isinstance(msg, skip):
                raise AssertionError(f"expected {types}, got {msg}")

    def job(self, request_id: str = "0x" + "ab" * 32, attempt: int = 1, mode: int = 3,
            version: str = "v6.1.0", deadline: int = 2**40) -> wp.Job:
        return wp.Job(request_id=request_id, attempt=attempt, mode=mode, circuit_version=version,
                      vk_hash=VK_HASH, vk=VK, elf_url=self.url("elf"), stdin_url=self.url("stdin"),
                      proof_upload_url=self.url("proof"), deadline=deadline, cycle_limit=10**9)

    @defer.inlineCallbacks
    def stop(self):
        for s in self.sockets:
            if s.transport is not None:
                s.transport.abortConnection()
        yield defer.maybeDeferred(self.ws_port.stopListening)
        yield defer.maybeDeferred(self.http_port.stopListening)


# -- fixtures ------------------------------------------------------------------------------
@pytest_twisted.async_yield_fixture
async def fake():
    f = FakeHierophant()
    yield f
    await f.stop()


@pytest_twisted.async_yield_fixture
async def contemplant(tmp_path, fake):
    """Factory of started contemplants talking to `fake`; stopped (jobs cancelled) at the end."""
    made: list[Contemplant] = []

    def make(token: str = TOKEN, protocol: str = wp.PROTOCOL_VERSION, **prover) -> Contemplant:
        prover = {"delay_secs": 0.2, **prover}
        lines = [f'hierophant_ws_address = "{fake.ws_url}"', f'worker_token = "{token}"',
                 'name = "tester"', f'state_dir = "{tmp_path / "state"}"', "http_port = 0",
                 "[[provers]]", 'backend = "mock"']
        lines += [f"{k} = {json.dumps(v)}" for k, v in prover.items()]
        path = tmp_path / "contemplant.toml"
        path.write_text("\n".join(lines) + "\n")
        svc = Contemplant(load_config(path, {}), protocol_version=protocol,
                          stop_reactor=lambda: svc.stopped.callback(svc.exit_code),
                          reconnect_backoff=(0.05, 0.2), http_backoff=(0.05, 0.2))
        svc.stopped = defer.Deferred()
        svc.startService()
        made.append(svc)
        return svc

    yield make
    for svc in made:
        if svc.running:
            svc.jobs.cancel_all("test over")
            await svc.stopService()
    exits.set_status(exits.EXIT_OK)


@defer.inlineCallbacks
def health(svc: Contemplant):
    response = yield treq.get(f"http://127.0.0.1:{svc.health_port.getHost().port}/health")
    body = yield treq.json_content(response)
    return response.code, body


@defer.inlineCallbacks
def until_proving(fake: FakeHierophant):
    """ELF and stdin fetched with the bearer token, then a first progress message."""
    for name in ("elf", "stdin"):
        got, auth = yield timeout(fake.gets.get())
        assert (got, auth) == (name, f"Bearer {TOKEN}")
    progress = yield fake.next(wp.Progress, skip=(wp.Heartbeat,))
    return progress


# -- register, heartbeat, a job end to end ---------------------------------------------------
@pytest_twisted.inlineCallbacks
def test_register_heartbeat_and_job(tmp_path, fake, contemplant):
    svc = contemplant()
    reg = yield fake.next(wp.Register)
    assert reg.protocol == wp.PROTOCOL_VERSION and reg.name == "tester"
    assert reg.worker_id == str(uuid.UUID((tmp_path / "state" / "worker_id").read_text().strip()))
    assert reg.capabilities == {"backends": ["mock"], "modes": [1, 2, 3, 4],
                                "circuit_versions": ["v5.0.0", "v6.0.0", "v6.1.0"], "slots": 1,
                                "provers": [{"backend": "mock", "modes": [1, 2, 3, 4],
                                             "circuit_versions": ["v5.0.0", "v6.0.0", "v6.1.0"], "slots": 1}]}
    assert reg.hardware["cpus"] >= 1 and reg.hardware["ram_bytes"] > 0
    assert reg.jobs == [] and reg.draining is False and reg.software.startswith("contemplant")
    hb = yield fake.next(wp.Heartbeat, skip=())
    assert hb.jobs == [] and "load" in hb.hardware
    code, body = yield health(svc)
    assert code == 200 and body["healthy"] and body["connected"] and body["worker_id"] == reg.worker_id
    assert body["slots"] == 1 and body["jobs"] == []

    job = fake.job(mode=3, version="v6.1.0")
    fake.socket.send(job)
    progress = yield until_proving(fake)
    assert (progress.request_id, progress.attempt, progress.phase) == (job.request_id, 1, "execute")
    code, body = yield health(svc)
    assert body["jobs"][0]["request_id"] == job.request_id
    name, auth, proof = yield timeout(fake.puts.get())
    assert (name, auth) == ("proof", f"Bearer {TOKEN}")
    bincode.inspect_proof(proof, mode=3, circuit_version="v6.1.0",
                          expected_public_values=sp1data.public_values(5))   # executed for real
    done = yield fake.next(wp.Completed)
    assert (done.request_id, done.attempt) == (job.request_id, 1)
    assert svc.jobs.table == {}
    assert list((tmp_path / "state" / "jobs").iterdir()) == []


@pytest_twisted.inlineCallbacks
def test_next_job_offered_before_the_put_answer_arrives_is_taken(fake, contemplant):
    """The PUT completes the job, so the hierophant may offer the freed slot at once."""
    contemplant(slots=1)
    yield fake.next(wp.Register)
    first, second = fake.job(), fake.job(request_id="0x" + "cd" * 32)
    release = fake.hold_put = defer.Deferred()
    fake.on_put = lambda: fake.socket.send(second)
    fake.socket.send(first)
    yield timeout(fake.puts.get())
    fake.on_put = fake.hold_put = None
    gets = []
    for _ in range(4):                      # the second job starts before the PUT answer
        name, _auth = yield timeout(fake.gets.get())
        gets.append(name)
    assert gets == ["elf", "stdin", "elf", "stdin"]
    release.callback(None)
    done = [(yield fake.next(wp.Completed)), (yield fake.next(wp.Completed))]
    assert {m.request_id for m in done} == {first.request_id, second.request_id}


@pytest_twisted.inlineCallbacks
def test_health_is_503_until_registered(fake, contemplant):
    yield fake.go_away()                     # nothing listens: it keeps reconnecting
    svc = contemplant()
    code, body = yield health(svc)
    assert code == 503 and body["healthy"] is False and body["connected"] is False
    assert body["name"] == "tester" and body["worker_id"] == svc.worker_id


@pytest_twisted.inlineCallbacks
def test_backend_failure_is_reported(fake, contemplant):
    contemplant(fail="program")
    yield fake.next(wp.Register)
    fake.socket.send(fake.job())
    failed = yield fake.next(wp.Failed)
    assert failed.kind == "program" and "fail" in failed.message
    assert fake.puts.pending == []


@pytest_twisted.inlineCallbacks
def test_unsupported_job_is_refused(fake, contemplant):
    contemplant(circuit_versions=["v6.1.0"])
    yield fake.next(wp.Register)
    fake.socket.send(fake.job(version="v5.0.0"))
    failed = yield fake.next(wp.Failed)
    assert failed.kind == "unsupported" and "v5.0.0" in failed.message


@pytest_twisted.inlineCallbacks
@pytest.mark.parametrize("code", [409, 422])
def test_refused_upload_is_dropped_quietly(fake, contemplant, code):
    svc = contemplant()
    fake.put_answer = (code, "attempt superseded" if code == 409 else "SP1Proof tag mismatch")
    yield fake.next(wp.Register)
    fake.socket.send(fake.job())
    yield timeout(fake.puts.get())
    key = ("0x" + "ab" * 32, 1)
    if key in svc.jobs.table:
        yield timeout(svc.jobs.table[key].done)
    assert not [m for m in fake.messages.pending if isinstance(m, (wp.Completed, wp.Failed))]


# -- cancel and reconnect ----------------------------------------------------------------------
@pytest_twisted.inlineCallbacks
def test_cancel_uploads_nothing(fake, contemplant):
    svc = contemplant(delay_secs=30.0)
    yield fake.next(wp.Register)
    job = fake.job()
    fake.socket.send(job)
    yield until_proving(fake)
    done = svc.jobs.table[(job.request_id, 1)].done
    fake.socket.send(wp.Cancel(job.request_id, 1, "test"))
    yield timeout(done)
    assert svc.jobs.table == {} and fake.puts.pending == []
    assert not [m for m in fake.messages.pending if isinstance(m, (wp.Completed, wp.Failed))]


@pytest_twisted.inlineCallbacks
def test_reconnect_keeps_the_job_and_lists_it(fake, contemplant):
    svc = contemplant(delay_secs=1.0)
    yield fake.next(wp.Register)
    job = fake.job()
    fake.socket.send(job)
    yield until_proving(fake)
    fake.resume = [{"request_id": job.request_id, "attempt": 1}]
    fake.socket.transport.abortConnection()
    reg = yield fake.next(wp.Register)
    assert reg.jobs == [{"request_id": job.request_id, "attempt": 1}]
    assert reg.worker_id == svc.worker_id
    _, _, proof = yield timeout(fake.puts.get())
    bincode.inspect_proof(proof, mode=3, circuit_version="v6.1.0")
    yield fake.next(wp.Completed)


@pytest_twisted.inlineCallbacks
def test_job_finished_while_disconnected_is_uploaded_and_reported(fake, contemplant):
    svc = contemplant(delay_secs=0.3)
    yield fake.next(wp.Register)
    job = fake.job()
    fake.socket.send(job)
    yield until_proving(fake)
    unsent = defer.Deferred()
    send = svc.jobs.send

    def spy(msg):
        ok = send(msg)
        if isinstance(msg, wp.Completed) and not ok and not unsent.called:
            reactor.callLater(0, unsent.callback, None)   # after the table is updated
        return ok
    svc.jobs.send = spy
    yield fake.go_away()
    yield timeout(fake.puts.get())          # the PUT does not need the socket
    yield timeout(unsent)
    key = (job.request_id, 1)
    assert svc.jobs.table[key].phase == "reporting"
    fake.come_back()
    reg = yield fake.next(wp.Register)
    assert reg.jobs == [{"request_id": job.request_id, "attempt": 1}]
    done = yield fake.next(wp.Completed)
    assert done.request_id == job.request_id and svc.jobs.table == {}


@pytest_twisted.inlineCallbacks
def test_registered_cancel_stops_a_listed_job(fake, contemplant):
    svc = contemplant(delay_secs=30.0)
    yield fake.next(wp.Register)
    job = fake.job()
    fake.socket.send(job)
    yield until_proving(fake)
    done = svc.jobs.table[(job.request_id, 1)].done
    fake.cancel = [{"request_id": job.request_id, "attempt": 1}]
    fake.socket.transport.abortConnection()
    yield fake.next(wp.Register)
    yield timeout(done)
    assert svc.jobs.table == {} and fake.puts.pending == []


# -- graceful stop, fatal closes -------------------------------------------------------------
@pytest_twisted.inlineCallbacks
def test_graceful_stop_drains_then_closes(fake, contemplant):
    svc = contemplant(delay_secs=0.5)
    yield fake.next(wp.Register)
    fake.socket.send(fake.job())
    yield until_proving(fake)
    stopping = svc.stopService()
    yield fake.next(wp.Draining)
    fake.socket.send(fake.job(request_id="0x" + "cd" * 32))
    refused = yield fake.next(wp.Failed)
    assert refused.kind == "unsupported" and "draining" in refused.message
    yield timeout(fake.puts.get())
    yield fake.next(wp.Completed)
    yield timeout(stopping)
    _, code = yield timeout(fake.closed.get())
    assert code == 1000 and svc.exit_code == 0


@pytest_twisted.inlineCallbacks
def test_version_mismatch_exits_4(fake, contemplant):
    svc = contemplant(protocol="2.0")
    reg = yield fake.next(wp.Register)
    assert reg.protocol == "2.0"
    code = yield timeout(svc.stopped)
    assert code == exits.EXIT_FATAL == 4 and exits.status() == 4


@pytest_twisted.inlineCallbacks
def test_dropped_exits_4(fake, contemplant):
    svc = contemplant()
    yield fake.next(wp.Register)
    fake.socket.sendClose(wp.CLOSE_DROPPED, "3 bad proofs")
    code = yield timeout(svc.stopped)
    assert code == 4


@pytest_twisted.inlineCallbacks
def test_wrong_token_exits_3(fake, contemplant):
    svc = contemplant(token="wrong")
    code = yield timeout(svc.stopped)
    assert code == exits.EXIT_AUTH == 3
    assert fake.sockets == []


@pytest_twisted.inlineCallbacks
def test_twistd_exits_4_on_version_mismatch(tmp_path, fake):
    """The real `twistd -n contemplant` leaves with status 4 (exits.install_twistd_hook)."""
    path = tmp_path / "c.toml"
    path.write_text(f'hierophant_ws_address = "{fake.ws_url}"\nworker_token = "{TOKEN}"\n'
                    f'state_dir = "{tmp_path / "s"}"\nhttp_port = 0\n[[provers]]\nbackend = "mock"\n')
    env = {**os.environ, "CONTEMPLANT_PROTOCOL_VERSION": "2.0"}
    twistd = str(Path(sys.executable).with_name("twistd"))
    from twisted.internet import threads
    proc = yield threads.deferToThread(
        subprocess.run, [twistd, "-n", "--pidfile=", "contemplant", "-c", str(path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "protocol version mismatch" in proc.stdout and "2.0" in proc.stdout
