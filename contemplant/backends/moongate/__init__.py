"""The `moongate` backend: SP1 v5 proving on Succinct's moongate server (prover-backends.md §2).

Per job (§2.4): Setup(elf) → (pk, vk), cached per ELF; ProveCoreStateless(stdin, pk) →
SP1CoreProof; Core stops there, Compressed adds Compress(vk, proof, []). The results are
sliced into a ProofFromNetwork (§2.3, §2.5); Plonk/Groth16 need gnark (Rust), so only
Core and Compressed are advertised. Servers come from `launch` ("docker": one container per
GPU; "endpoint": operator-run URLs, comma-separated), one job each at a time.
"""
from __future__ import annotations

import collections
import hashlib
import logging
from pathlib import Path
from typing import Optional

from twisted.internet import defer, threads

from contemplant.backends.base import (ELF_FILE, PROOF_FILE, STDIN_FILE, Backend, BackendFailure, Capabilities,
                                       ProgressFn)
from contemplant.backends.moongate import payloads
from contemplant.backends.moongate.launch import DockerLauncher, EndpointLauncher, Launcher, Server
from contemplant.backends.moongate.progress import LogProgress
from contemplant.backends.moongate.twirp import TwirpError
from contemplant.config import ProverConfig
from network_lib.config import ConfigError
from network_lib.versions import V5_0_0, ProofMode
from network_lib.worker_protocol import Job

log = logging.getLogger("contemplant.moongate")

MODES = (int(ProofMode.CORE), int(ProofMode.COMPRESSED))     # §2.5
PK_CACHE_SIZE = 2                                             # proving keys are large


class ServerPool:
    """Idle servers; `acquire` waits for one."""

    def __init__(self, servers: list[Server]) -> None:
        self.idle = list(servers)
        self.waiting: list[defer.Deferred] = []

    def acquire(self) -> defer.Deferred:
        if self.idle:
            return defer.succeed(self.idle.pop(0))
        d = defer.Deferred(canceller=lambda d: self.waiting.remove(d))
        self.waiting.append(d)
        return d

    def release(self, server: Server) -> None:
        if self.waiting:
            self.waiting.pop(0).callback(server)
        else:
            self.idle.append(server)


def make_launcher(prover: ProverConfig, **kw) -> Launcher:
    if prover.launch == "docker":
        if prover.endpoint:
            raise ConfigError("endpoint: only used with launch = \"endpoint\"")
        return DockerLauncher(prover.image, list(prover.gpus), **kw)
    if prover.launch == "endpoint":
        endpoints = [e.strip() for e in (prover.endpoint or "").split(",") if e.strip()]
        if not endpoints:
            raise ConfigError("endpoint: required with launch = \"endpoint\" (e.g. \"http://gpu-box:3000\")")
        kw.pop("docker_factory", None)
        return EndpointLauncher(endpoints, **kw)
    raise ConfigError(f"launch: must be \"docker\" or \"endpoint\", got {prover.launch!r}")


class MoongateBackend(Backend):
    def __init__(self, prover: ProverConfig, **launcher_kw) -> None:
        self.launcher = make_launcher(prover, **launcher_kw)
        slots = len(prover.gpus) if prover.launch == "docker" else len(self.launcher.servers)
        self.capabilities = Capabilities("moongate", (V5_0_0,), MODES, slots)
        self.pool: Optional[ServerPool] = None
        self.keys: collections.OrderedDict[bytes, tuple[bytes, bytes]] = collections.OrderedDict()
        self._running: dict[tuple[str, int], defer.Deferred] = {}

    @defer.inlineCallbacks
    def start(self):
        servers = yield self.launcher.start()
        self.pool = ServerPool(servers)

    def stop(self) -> defer.Deferred:
        for d in list(self._running.values()):
            d.cancel()
        return self.launcher.stop()

    def prove(self, job: Job, workdir: Path, progress: ProgressFn) -> defer.Deferred:
        key = (job.request_id, job.attempt)
        d = self._prove(job, workdir, progress)
        self._running[key] = d
        d.addBoth(lambda r: (self._running.pop(key, None), r)[1])
        return d

    def cancel(self, job: Job) -> None:
        d = self._running.get((job.request_id, job.attempt))
        if d is not None:
            d.cancel()

    @defer.inlineCallbacks
    def _prove(self, job: Job, workdir: Path, progress: ProgressFn):
        if job.mode not in MODES:
            raise BackendFailure("unsupported", f"moongate proves Core and Compressed only, not mode {job.mode}")
        elf, stdin = yield threads.deferToThread(_read_inputs, workdir)
        server = yield self.pool.acquire()
        clean = False
        try:
            proof = yield self._run(server, job, elf, stdin, progress)
            clean = True
        except TwirpError as e:
            clean = True                   # the server answered (or is gone): nothing to undo
            raise BackendFailure("infrastructure", str(e)) from None
        except payloads.PayloadError as e:
            clean = True
            raise BackendFailure("infrastructure", f"moongate returned a bad payload: {e}") from None
        finally:
            server.log_sink = None
            self._give_back(server, clean)
        path = workdir / PROOF_FILE
        yield threads.deferToThread(path.write_bytes, proof)
        return path

    @defer.inlineCallbacks
    def _run(self, server: Server, job: Job, elf: bytes, stdin: bytes, progress: ProgressFn):
        decoded = yield threads.deferToThread(payloads.canonical_stdin, stdin)
        canonical = decoded.encode()
        if job.mode == ProofMode.COMPRESSED and decoded.proof_count:
            raise payloads.PayloadError("Compressed with deferred proofs in stdin is not supported (§2.5)")
        pk, vk = yield self._keys(server, elf, progress)
        progress("prove", 0.0)
        server.log_sink = LogProgress(progress, lambda: job.total_cycles).feed
        data = yield threads.deferToThread(payloads.prove_core_request, canonical, pk)
        result = yield server.twirp.request("ProveCoreStateless", data)
        shards, pv, cycles = yield threads.deferToThread(payloads.split_core_proof, result, canonical)
        if job.mode == ProofMode.CORE:
            return (yield threads.deferToThread(payloads.core_proof_from_network, shards, pv))
        progress("compress", None, cycles)
        data = yield threads.deferToThread(payloads.compress_request, vk, result)
        reduced = yield server.twirp.request("Compress", data)
        return (yield threads.deferToThread(payloads.compressed_proof_from_network, reduced, pv))

    @defer.inlineCallbacks
    def _keys(self, server: Server, elf: bytes, progress: ProgressFn):
        """(pk, vk) of this ELF: Setup on a miss (§2.4 step 1)."""
        digest = hashlib.sha256(elf).digest()
        if digest in self.keys:
            self.keys.move_to_end(digest)
            return self.keys[digest]
        progress("setup")
        result = yield server.twirp.request("Setup", payloads.setup_request(elf))
        keys = yield threads.deferToThread(payloads.split_setup_result, result, elf)
        self.keys[digest] = keys
        while len(self.keys) > PK_CACHE_SIZE:
            self.keys.popitem(last=False)
        return keys

    def _give_back(self, server: Server, clean: bool) -> None:
        """Back to the pool; after a cancel or crash, once the launcher made it idle again."""
        if clean:
            self.pool.release(server)
            return
        d = self.launcher.restart(server)
        d.addCallback(lambda _: self.pool.release(server))
        d.addErrback(lambda f: log.error("moongate %s could not be restarted (%s); "
                                         "its slot stays out of use", server.name, f.getErrorMessage()))


def _read_inputs(workdir: Path) -> tuple[bytes, bytes]:
    return (workdir / ELF_FILE).read_bytes(), (workdir / STDIN_FILE).read_bytes()
