"""Light simulated contemplants for the scheduler benchmark: many in one process, one reactor.

Each `SimWorker` speaks the real worker protocol (docs/worker-protocol.md) with the message
classes of `network_lib.worker_protocol`: it opens `/ws` with the bearer token, registers
(its own worker_id, 1 slot, modes 1-4, circuit v6.1.0), heartbeats every
`heartbeat_interval_secs` from `registered` on (like `contemplant/connection.py`), and for
every `job` does the real HTTP work of an instant mock prover: GET the ELF, GET the stdin,
PUT a mock `bincode(ProofFromNetwork)` (`network_lib.mockproof.mock_proof`) and, once the
PUT answered 200, sends `completed`.

HTTP goes through one shared keep-alive pool (one connection per busy worker at most), so
the steady state opens no new TCP connections. Timings use `time.perf_counter()`.
"""
from __future__ import annotations

import base64
import random
import time
import uuid
from dataclasses import dataclass, field

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol, connectWS
from twisted.internet import defer, task
from twisted.web.client import Agent, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers
from twisted.web.iweb import IBodyProducer
from zope.interface import implementer

from network_lib import worker_protocol as wp
from network_lib.mockproof import mock_proof

CAPABILITIES = {"backends": ["mock"], "modes": [1, 2, 3, 4], "circuit_versions": ["v6.1.0"], "slots": 1}
# What a real contemplant with one GPU reports (contemplant/hardware.py, contemplant/monitoring.py),
# so that a heartbeat here is as long as a real one (about 360 bytes of JSON).
HARDWARE = {"cpus": 32, "cpu_percent": 3.1, "ram_bytes": 256 << 30, "ram_available_bytes": 241 << 30,
            "ram_used_bytes": 15 << 30, "load": [0.52, 0.61, 0.58],
            "gpus": [{"index": 0, "name": "NVIDIA H100 80GB HBM3", "memory_used_bytes": 1 << 30,
                      "memory_total_bytes": 80 << 30, "utilization_percent": 0, "temperature_c": 34,
                      "power_watts": 71.2}]}
IDLE_HEARTBEAT = wp.Heartbeat(jobs=[], hardware=HARDWARE).to_json().encode()


@implementer(IBodyProducer)
class BytesProducer:
    """A request body already in memory (no cooperator round trips, unlike FileBodyProducer)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.length = data, len(data)

    def startProducing(self, consumer):
        consumer.write(self.data)
        return defer.succeed(None)

    def pauseProducing(self):
        pass

    def resumeProducing(self):
        pass

    def stopProducing(self):
        pass


@dataclass
class FleetStats:
    jobs: int = 0                       # job messages received
    fulfilled: int = 0                  # proof PUTs answered 200
    request_ids: set = field(default_factory=set)
    retried: int = 0                    # job messages with attempt > 1
    http_errors: list = field(default_factory=list)
    closes: list = field(default_factory=list)    # unexpected socket closes
    registered: int = 0
    heartbeats: int = 0
    latencies: list = field(default_factory=list)  # PUT 200 -> next job (s)
    latency_at: list = field(default_factory=list)  # perf_counter() of each sample, same order
    all_registered_at: float | None = None
    early_jobs: int = 0                 # a job arrived before the previous PUT's 200 was read
    get_secs: list = field(default_factory=list)   # each input GET, request -> body read
    put_secs: list = field(default_factory=list)   # each proof PUT, request -> 200 body read
    first_job: float | None = None
    last_fulfilled: float | None = None


class SimWorker(WebSocketClientProtocol):
    """One simulated contemplant; `self.fleet` is set by the factory."""

    fleet: "Fleet"
    name = "?"
    heartbeat_loop = None
    job = None            # the wp.Job being "proven"
    freed_at = None       # perf_counter() of the last PUT 200 (slot free); None while busy

    def onOpen(self):
        self.worker_id = str(uuid.uuid4())
        self.name = f"sim-{self.factory.index:04d}"
        self.sendMessage(wp.Register(protocol=wp.PROTOCOL_VERSION, worker_id=self.worker_id, name=self.name,
                                     software="scheduler-bench", capabilities=CAPABILITIES,
                                     hardware=HARDWARE).to_json().encode())

    def onMessage(self, payload, isBinary):
        t = time.perf_counter()
        msg = wp.parse(payload)
        stats = self.fleet.stats
        if isinstance(msg, wp.Job):
            stats.jobs += 1
            if stats.first_job is None:
                stats.first_job = t
            stats.request_ids.add(msg.request_id)
            if msg.attempt > 1:
                stats.retried += 1
            if self.freed_at is not None:
                stats.latencies.append(t - self.freed_at)
                stats.latency_at.append(t)
                self.freed_at = None
            elif self.job is not None:      # sent before we read the previous PUT's 200
                stats.early_jobs += 1
                stats.latencies.append(0.0)
                stats.latency_at.append(t)
            self.job = msg
            if self.fleet.on_job is not None:
                self.fleet.on_job(msg, t)
            self._prove(msg)
        elif isinstance(msg, wp.Registered):
            stats.registered += 1
            self.fleet.on_registered(self)
            interval = max(0.05, float(msg.heartbeat_interval_secs))
            self.fleet.heartbeat_interval = interval
            self.heartbeat_loop = task.LoopingCall(self._beat)
            self.heartbeat_loop.clock = self.fleet.reactor
            # Contemplants start at different times: spread the first beat over one interval.
            self.fleet.reactor.callLater(random.uniform(0, interval), self._start_beats, interval)
        elif isinstance(msg, wp.Cancel):
            pass        # an instant prover has nothing to stop

    def _start_beats(self, interval: float) -> None:
        if self.heartbeat_loop is not None and not self.heartbeat_loop.running and self.state == self.STATE_OPEN:
            self.heartbeat_loop.start(interval, now=True)

    def _beat(self) -> None:
        if self.job:
            jobs = [{"request_id": self.job.request_id, "attempt": self.job.attempt}]
            self.sendMessage(wp.Heartbeat(jobs=jobs, hardware=HARDWARE).to_json().encode())
        else:       # the same bytes a real idle contemplant sends, encoded once: a light load generator
            self.sendMessage(IDLE_HEARTBEAT)
        self.fleet.stats.heartbeats += 1

    @defer.inlineCallbacks
    def _prove(self, job: wp.Job):
        fleet = self.fleet
        try:
            for url in (job.elf_url, job.stdin_url):
                t0 = time.perf_counter()
                code, body = yield fleet.http(b"GET", url)
                fleet.stats.get_secs.append(time.perf_counter() - t0)
                if code != 200:
                    raise RuntimeError(f"GET {url.rsplit('/', 1)[-1]} answered {code}: {body[:200]!r}")
            proof = fleet.proof_for(job)
            t0 = time.perf_counter()
            code, body = yield fleet.http(b"PUT", job.proof_upload_url, proof)
            fleet.stats.put_secs.append(time.perf_counter() - t0)
            if fleet.on_put is not None:
                fleet.on_put(job, t0, time.perf_counter(), code)
            if code != 200:
                raise RuntimeError(f"proof PUT answered {code}: {body[:200]!r}")
        except Exception as e:          # noqa: BLE001 - recorded and reported by the bench
            fleet.stats.http_errors.append(f"{self.name} {job.request_id[:18]}: {e}")
            if self.job is job:
                self.job = None
            return
        t = time.perf_counter()
        if self.job is job:
            self.job = None
            self.freed_at = t
        fleet.stats.fulfilled += 1
        fleet.stats.last_fulfilled = t
        if self.state == self.STATE_OPEN:
            self.sendMessage(wp.Completed(request_id=job.request_id, attempt=job.attempt).to_json().encode())
        fleet.on_fulfilled()

    def onClose(self, wasClean, code, reason):
        if self.heartbeat_loop is not None and self.heartbeat_loop.running:
            self.heartbeat_loop.stop()
        if not self.fleet.closing:
            self.fleet.stats.closes.append(f"{self.name}: code {code} {reason}")
        self.fleet.on_closed(self)


class Fleet:
    """`n` simulated workers against `ws_url`, connected at most `ramp` handshakes at a time."""

    def __init__(self, reactor, n: int, ws_url: str, worker_token: str, ramp: int = 32) -> None:
        self.reactor = reactor
        self.n, self.ws_url, self.ramp = n, ws_url, ramp
        self.auth = [b"Bearer " + worker_token.encode()]
        self.headers = Headers({b"authorization": self.auth})
        self.pool = HTTPConnectionPool(reactor, persistent=True)
        self.pool.maxPersistentPerHost = n + 16
        self.pool.retryAutomatically = False
        self.agent = Agent(reactor, pool=self.pool, connectTimeout=30)
        self.stats = FleetStats()
        self.protocols: list[SimWorker] = []
        self.closing = False
        self.heartbeat_interval: float | None = None     # as the server's `registered` said
        self._proofs: dict[tuple, bytes] = {}
        self._next = 0
        self._in_flight = 0
        self.all_registered = defer.Deferred()
        self.on_progress = None      # callable() after each fulfilled job
        self.on_job = None           # callable(job, perf_counter() when read) for each job message
        self.on_put = None           # callable(job, PUT start, 200 read, code) for each proof PUT

    # -- connecting --------------------------------------------------------------
    def connect(self) -> defer.Deferred:
        """Start connecting every worker; fires when all have registered."""
        for _ in range(min(self.ramp, self.n)):
            self._connect_next()
        return self.all_registered

    def _connect_next(self) -> None:
        if self._next >= self.n or self.closing:
            return
        index, self._next = self._next, self._next + 1
        self._in_flight += 1
        factory = WebSocketClientFactory(self.ws_url, headers={"Authorization": self.auth[0].decode()})
        factory.setProtocolOptions(autoPingInterval=0, openHandshakeTimeout=60, closeHandshakeTimeout=2)
        factory.protocol = type("BoundSimWorker", (SimWorker,), {"fleet": self})
        factory.index = index
        connectWS(factory, timeout=60)

    def on_registered(self, worker: SimWorker) -> None:
        self.protocols.append(worker)
        self._handshake_done()
        if self.stats.registered == self.n and not self.all_registered.called:
            self.stats.all_registered_at = time.perf_counter()
            self.all_registered.callback(None)

    def on_closed(self, worker: SimWorker) -> None:
        if worker not in self.protocols:     # failed before registering: free its ramp slot
            self._handshake_done()

    def _handshake_done(self) -> None:
        self._in_flight -= 1
        self._connect_next()

    def on_fulfilled(self) -> None:
        if self.on_progress is not None:
            self.on_progress()

    # -- HTTP ---------------------------------------------------------------------
    def http(self, method: bytes, url: str, body: bytes | None = None):
        producer = BytesProducer(body) if body is not None else None
        d = self.agent.request(method, url.encode(), self.headers, producer)

        def got(response):
            return readBody(response).addCallback(lambda data: (response.code, data))
        return d.addCallback(got)

    def proof_for(self, job: wp.Job) -> bytes:
        key = (job.mode, job.circuit_version, job.vk_hash, job.vk)
        proof = self._proofs.get(key)
        if proof is None:
            proof = self._proofs[key] = mock_proof(job.mode, job.circuit_version, bytes.fromhex(job.vk_hash[2:]),
                                                   b"", base64.b64decode(job.vk))
        return proof

    # -- stopping -----------------------------------------------------------------
    def close(self) -> defer.Deferred:
        self.closing = True
        for p in self.protocols:
            if p.heartbeat_loop is not None and p.heartbeat_loop.running:
                p.heartbeat_loop.stop()
            if p.state == p.STATE_OPEN:
                p.sendClose(1000, "benchmark over")
        return self.pool.closeCachedConnections()
