"""One GPU: its server (spawned or external), one persistent connection, its pk cache.

prover-backends.md §1.3: all server state is per connection, so Setup is cached per
connection and redone after a reconnect; the key is sha256(ELF); Destroy frees a key
evicted from the small LRU. There is no cancel message: a cancelled job kills the server
(spawn), which is then restarted. A server that exits is restarted with back-off.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path
from typing import Optional

from twisted.internet import defer, threads
from twisted.python.failure import Failure

from contemplant.backends.base import ELF_FILE, PROOF_FILE, STDIN_FILE, BackendFailure, ProgressFn
from contemplant.backends.sp1_gpu import client as client_mod
from contemplant.backends.sp1_gpu import server as server_mod
from contemplant.backends.sp1_gpu import wire
from contemplant.backends.sp1_gpu.progress import ProgressParser
from network_lib.worker_protocol import Job

log = logging.getLogger("contemplant.sp1_gpu")

MAX_KEYS = 4                    # programs kept set up per connection (GPU memory)
CONNECT_TIMEOUT_SECS = 300.0    # CUDA start-up takes seconds; be patient (§1.1)
RESTART_BACKOFF = (0.5, 30.0)   # first delay, cap
STABLE_SECS = 30.0              # a server up this long resets the back-off
EXIT_GRACE_SECS = 1.0           # after a dropped connection, time for the server's exit to show


class Gpu:
    def __init__(self, reactor, gpu: int, binary: str, socket_dir: str, spawn: bool) -> None:
        self.reactor, self.gpu, self.socket_dir = reactor, gpu, socket_dir
        self.socket = server_mod.socket_path(socket_dir, gpu)
        self.server = (server_mod.ServerProcess(reactor, binary, gpu, socket_dir, self._line, self._exited)
                       if spawn else None)
        self.client: Optional[client_mod.ServerClient] = None
        self.keys: OrderedDict[bytes, bytes] = OrderedDict()     # key -> vk, this connection
        self.job: Optional[Job] = None
        self.parser: Optional[ProgressParser] = None
        self.stopping = False
        self.connect_timeout = CONNECT_TIMEOUT_SECS
        self._connecting = False
        self._waiters: list[defer.Deferred] = []
        self._restart: Optional[defer.Deferred] = None
        self._restart_call = None
        self._delay = RESTART_BACKOFF[0]
        self._spawned_at = 0.0
        self._on_purpose = False
        self._suspect = False

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> defer.Deferred:
        if self.server is not None:
            server_mod.reap_stray(server_mod.pid_file(self.socket_dir, self.gpu))
            self._spawn()
        return self.ensure_client()

    def stop(self) -> defer.Deferred:
        self.stopping = True
        if self._restart_call is not None and self._restart_call.active():
            self._restart_call.cancel()
        self._drop_client()
        return self.server.stop() if self.server is not None else defer.succeed(None)

    def _spawn(self) -> None:
        self._spawned_at = self.reactor.seconds()
        self.server.spawn()

    def _exited(self, message: str) -> None:
        log.warning("%s", message)
        if self.stopping:
            return
        if self._on_purpose or self.reactor.seconds() - self._spawned_at >= STABLE_SECS:
            self._delay = RESTART_BACKOFF[0]
        delay = 0.0 if self._on_purpose else self._delay
        self._on_purpose = False
        self._delay = min(self._delay * 2, RESTART_BACKOFF[1])
        log.info("restarting sp1-gpu-server for GPU %d in %.1f s", self.gpu, delay)
        self._restart = defer.Deferred()
        self._restart_call = self.reactor.callLater(delay, self._respawn)

    def _respawn(self) -> None:
        restart, self._restart = self._restart, None
        if not self.stopping:
            self._spawn()
        if restart is not None:
            restart.callback(None)

    # -- the connection -------------------------------------------------------------------------
    def ensure_client(self) -> defer.Deferred:
        """Deferred[ServerClient]: the live connection, or a new one (one attempt at a time)."""
        if self.client is not None and not self.client.closed:
            return defer.succeed(self.client)
        waiter: defer.Deferred = defer.Deferred()
        self._waiters.append(waiter)
        if not self._connecting:
            self._connecting = True
            self._connect().addBoth(self._connect_done)
        return waiter

    @defer.inlineCallbacks
    def _connect(self):
        if self._suspect and self.server is not None and self.server.running:
            # The connection dropped: if the server is dying, let its exit (and restart) be
            # seen first rather than knock on its dead socket.
            yield defer.DeferredList([server_mod.when_done(self.server.exited),
                                      client_mod.deferLater(self.reactor, EXIT_GRACE_SECS)],
                                     fireOnOneCallback=True)
        self._suspect = False
        if self._restart is not None:
            yield _after(self._restart)
        if self.server is not None and not self.server.running and not self.stopping:
            self._spawn()
        c = yield client_mod.connect(self.reactor, self.socket, self.connect_timeout, self._give_up)
        log.info("connected to sp1-gpu-server for GPU %d at %s", self.gpu, self.socket)
        return c

    def _connect_done(self, result) -> None:
        self._connecting = False
        waiters, self._waiters = self._waiters, []
        if isinstance(result, client_mod.ServerClient):
            self.client, self.keys = result, OrderedDict()     # §1.3: a fresh pk cache
            result.lost.addCallback(lambda _: self._lost(result))
        for w in waiters:
            w.callback(result) if not isinstance(result, Failure) else w.errback(result)

    def _give_up(self) -> Optional[str]:
        if self.stopping:
            return "the contemplant is stopping"
        if self.server is not None and not self.server.running:
            return self.server.exit_message or f"sp1-gpu-server for GPU {self.gpu} is not running"
        return None

    def _lost(self, c: client_mod.ServerClient) -> None:
        if self.client is c:
            self.client, self.keys = None, OrderedDict()
            self._suspect = not c.closed_by_us
            if not self.stopping:
                log.info("connection to sp1-gpu-server for GPU %d closed", self.gpu)

    def _drop_client(self) -> None:
        c, self.client, self.keys = self.client, None, OrderedDict()
        if c is not None:
            c.close()

    # -- jobs -----------------------------------------------------------------------------------
    def _line(self, text: str) -> None:
        if self.parser is not None:
            self.parser.feed(text)

    @defer.inlineCallbacks
    def prove(self, job: Job, workdir: Path, progress: ProgressFn):
        """Deferred[Path]; the caller marks this GPU busy (`self.job`)."""
        elf, stdin, key = yield threads.deferToThread(_read_inputs, workdir)
        c = yield self._client_for(job)
        self._still(job)
        self.parser = ProgressParser(progress, lambda: job.total_cycles)
        yield self._setup(c, key, elf, progress)
        self._still(job)
        reply = yield self._call(c, wire.prove_request(job.mode, key, stdin, job.nonce or (0, 0, 0, 0)),
                                 "ProveWithMode")
        _expect(reply, wire.RESP_PROOF, "ProveWithMode")
        _check_tag(reply.body, job.mode)
        path = workdir / PROOF_FILE
        yield threads.deferToThread(path.write_bytes, reply.body)     # §1.5: payload[4:]
        return path

    def _still(self, job: Job) -> None:
        """Stop a job that was cancelled while it waited (its GPU may serve another now)."""
        if self.job is not job:
            raise defer.CancelledError()

    @defer.inlineCallbacks
    def _client_for(self, job: Job):
        try:
            c = yield self.ensure_client()
        except client_mod.ServerGone as e:
            raise BackendFailure("infrastructure", f"GPU {self.gpu}: {e}") from None
        return c

    @defer.inlineCallbacks
    def _setup(self, c, key: bytes, elf: bytes, progress: ProgressFn):
        if key in self.keys:
            self.keys.move_to_end(key)
            return
        while len(self.keys) >= MAX_KEYS:
            old, _ = self.keys.popitem(last=False)
            reply = yield self._call(c, wire.destroy_request(old), "Destroy")
            _expect(reply, wire.RESP_OK, "Destroy")
        progress("setup")
        reply = yield self._call(c, wire.setup_request(elf), "Setup")
        _expect(reply, wire.RESP_SETUP, "Setup")
        if reply.setup_id != key:
            raise BackendFailure("infrastructure", f"Setup answered key {reply.setup_id.hex()}, "
                                 f"expected sha256(ELF) {key.hex()}")
        if self.client is c:
            self.keys[key] = reply.vk

    @defer.inlineCallbacks
    def _call(self, c, payload: bytes, what: str):
        try:
            reply = yield c.request(payload)
        except client_mod.ServerGone as e:
            why = self.server.exit_message if self.server is not None and not self.server.running else str(e)
            raise BackendFailure("infrastructure", f"GPU {self.gpu}: sp1-gpu-server went away "
                                 f"during {what} (crashed or killed?): {why}") from None
        except wire.MalformedResponse as e:
            raise BackendFailure("infrastructure", f"GPU {self.gpu}: malformed reply to {what}: {e}") from None
        return reply

    def abort(self) -> None:
        """Stop the running job: kill the server (restarted at once), or drop the connection."""
        self.parser = None
        if self.server is not None and self.server.running:
            log.info("killing sp1-gpu-server for GPU %d to cancel its job", self.gpu)
            self._on_purpose = True
            self._drop_client()
            self.server.kill()
        else:
            log.warning("cancelling on an external server: it finishes its current proof anyway")
            self._drop_client()


def _read_inputs(workdir: Path) -> tuple[bytes, bytes, bytes]:
    elf = (workdir / ELF_FILE).read_bytes()
    return elf, (workdir / STDIN_FILE).read_bytes(), wire.program_key(elf)


def _expect(reply: wire.Response, kind: int, what: str) -> None:
    if reply.kind == kind:
        return
    if reply.kind in (wire.RESP_PROVER_ERROR, wire.RESP_INTERNAL_ERROR):
        raise BackendFailure("infrastructure", f"sp1-gpu-server {reply.name} on {what}: {reply.message}")
    raise BackendFailure("infrastructure", f"sp1-gpu-server answered {reply.name} to {what}")


def _check_tag(proof: bytes, mode: int) -> None:
    """§1.5 sanity check: the SP1Proof tag (§1.6: mode - 1) matches the mode asked for."""
    tag = int.from_bytes(proof[:4], "little")
    if tag != mode - 1:
        raise BackendFailure("infrastructure", f"sp1-gpu-server returned an SP1Proof with tag {tag} "
                             f"for mode {wire.MODE_NAMES.get(mode, mode)}")


def _after(d: defer.Deferred) -> defer.Deferred:
    """A Deferred firing (with None) when `d` does, leaving `d`'s own chain untouched."""
    mine: defer.Deferred = defer.Deferred()
    d.addCallback(lambda r: (mine.callback(None), r)[1])
    return mine
