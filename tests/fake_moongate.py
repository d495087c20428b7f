"""A fake moongate (prover-backends.md §2.2 twirp, §2.3 payloads) on loopback, and a fake
docker client whose containers run one (no docker engine needed).

Payloads have the real outer shapes: Setup answers `pk ‖ vk` with pk ending in
`bincode(elf) ‖ vk`; ProveCoreStateless answers `shards ‖ stdin ‖ pv ‖ cycles` with the
first stdin buffer as public values; Compress answers a reduce proof. Log lines (§2.6) go to
`log` (a container's log stream)."""
from __future__ import annotations

import json
import queue
import struct
from typing import Callable, Optional

import docker.errors
from twisted.internet import defer, reactor, threads
from twisted.web import resource, server

from network_lib.bincode import Reader, Writer
from network_lib.protowire import encode_len_field, iter_fields

PREFIX = b"/twirp/api.ProverService/"
CYCLES = 4242


def v5_vk(tag: bytes = b"\x01") -> bytes:
    """A v5 SP1VerifyingKey shape (§3.7): commit, pc_start, digest, 2 chips, their ordering."""
    w = Writer().raw(tag * 32).u32(0x200000).raw(bytes(56)).u64(2)
    for name in ("Program", "Byte"):
        w.string(name).u64(16).u32(31).u64(8).u64(65536)
    w.u64(2).string("Program").u64(0).string("Byte").u64(1)
    return w.getvalue()


class FakeMoongate(resource.Resource):
    isLeaf = True

    def __init__(self, log: Optional[Callable[[str], None]] = None) -> None:
        super().__init__()
        self.log = log or (lambda line: None)
        self.calls: list[tuple[str, str, bytes]] = []     # (method, content type, data)
        self.not_ready = 0                                  # Ready answers false this many times
        self.errors: dict[str, tuple[int, str, str]] = {}   # method -> (status, code, msg)
        self.garbage: set[str] = set()
        self.hold: set[str] = set()                         # never answer these
        self.dropped: defer.Deferred = defer.Deferred()     # a held request's connection closed
        self.keys: dict[bytes, bytes] = {}                  # pk -> vk
        self.port = None
        self.drain: Optional[Callable[[], defer.Deferred]] = None   # answer once logs are read

    def listen(self) -> int:
        self.port = reactor.listenTCP(0, server.Site(self), interface="127.0.0.1")
        return self.port.getHost().port

    def render_POST(self, request):
        method = request.path[len(PREFIX):].decode() if request.path.startswith(PREFIX) else ""
        body = request.content.read()
        ctype = request.getHeader("content-type") or ""
        data = b"".join(f.value for f in iter_fields(body) if f.number == 1)
        self.calls.append((method, ctype, data))
        if method in self.hold:
            request.notifyFinish().addErrback(lambda _: self.dropped.callback(method))
            return server.NOT_DONE_YET
        if method in self.errors:
            status, code, msg = self.errors[method]
            request.setResponseCode(status)
            request.setHeader("content-type", "application/json")
            return json.dumps({"code": code, "msg": msg, "meta": {}}).encode()
        request.setHeader("content-type", "application/protobuf")
        if method == "Ready":
            self.not_ready -= 1
            return b"" if self.not_ready >= 0 else b"\x08\x01"
        if method in self.garbage:
            return encode_len_field(1, b"\xff" * 40)
        result = getattr(self, method.lower())(data)
        body = encode_len_field(1, result) if result else b""
        if self.drain is None:
            return body
        self.drain().addCallback(lambda _: (request.write(body), request.finish()))
        return server.NOT_DONE_YET

    def setup(self, data: bytes) -> bytes:
        elf = Reader(data).bytes("elf")
        vk = v5_vk(bytes([len(self.keys) + 1]))
        pk = b"STARK-PK" * 4 + Writer().bytes(elf).getvalue() + vk
        self.keys[pk] = vk
        return pk + vk

    def provecorestateless(self, data: bytes) -> bytes:
        r = Reader(data)
        buffers = [r.bytes() for _ in range(r.u64())]
        r.u64("ptr")
        assert r.u64("proofs") == 0
        stdin = data[:r.offset]
        pk = r.rest()
        assert pk in self.keys, "ProveCoreStateless with a pk this server did not set up"
        for clk in (CYCLES // 2, CYCLES):
            self.log(f"INFO execute: clk = {clk} pc = 0x2000")
            self.log("INFO Shard: [executing]")
        for i in range(3):
            self.log(f"INFO prove: Shard: [{i}] done")
        pv = buffers[0] if buffers else b""
        shards = Writer().u64(2).raw(b"SHARD-0" + b"SHARD-1").getvalue()
        return shards + stdin + Writer().bytes(pv).u64(CYCLES).getvalue()

    def compress(self, data: bytes) -> bytes:
        vk = next(v for v in self.keys.values() if data.startswith(v))
        assert data.endswith(struct.pack("<Q", 0)), "deferred proofs must be an empty vec"
        return vk + b"REDUCE-SHARD-PROOF"


# -- a fake docker client ------------------------------------------------------------------
class FakeContainer:
    def __init__(self, client: "FakeDocker", name: str, kwargs: dict) -> None:
        self.client, self.name, self.kwargs = client, name, kwargs
        self.status = "running"
        self.removed = False
        self.lines: queue.Queue = queue.Queue()
        self.moongate = FakeMoongate(lambda line: self.lines.put(line.encode() + b"\n"))
        self.moongate.not_ready = client.not_ready
        self.moongate.drain = lambda: threads.deferToThread(self.lines.join)
        port = _on_reactor(self.moongate.listen)
        self.attrs = {"NetworkSettings": {"Ports": {"3000/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}}}

    def reload(self) -> None:
        if self.removed:
            raise docker.errors.NotFound(f"no such container {self.name}")

    def logs(self, stream: bool = False, follow: bool = False):
        assert stream and follow
        while (chunk := self.lines.get()) is not None:
            yield chunk
            self.lines.task_done()     # the reader has handed the line on

    def remove(self, force: bool = False) -> None:
        assert force
        self.client.removed.append(self.name)
        self.removed, self.status = True, "removed"
        self.lines.put(None)
        if self.moongate.port is not None:
            _on_reactor(self.moongate.port.stopListening)


class _Images:
    def __init__(self, present: bool) -> None:
        self.present, self.pulled = present, []

    def get(self, image: str):
        if not self.present:
            raise docker.errors.ImageNotFound(image)
        return image

    def pull(self, image: str):
        self.pulled.append(image)
        self.present = True


class _Containers:
    def __init__(self, client: "FakeDocker") -> None:
        self.client = client
        self.by_name: dict[str, FakeContainer] = {}

    def get(self, name: str) -> FakeContainer:
        c = self.by_name.get(name)
        if c is None or c.removed:
            raise docker.errors.NotFound(name)
        return c

    def run(self, image: str, **kwargs) -> FakeContainer:
        self.client.runs.append((image, kwargs))
        c = FakeContainer(self.client, kwargs["name"], kwargs)
        if self.client.exit_at_once:
            c.status = "exited"
            c.lines.put(b"error: no CUDA-capable device is detected\n")
        self.by_name[c.name] = c
        return c


class FakeDocker:
    """Stands in for `docker.from_env()`: records runs and removals."""

    def __init__(self, image_present: bool = False, not_ready: int = 0, exit_at_once: bool = False) -> None:
        self.images = _Images(image_present)
        self.containers = _Containers(self)
        self.runs: list[tuple[str, dict]] = []
        self.removed: list[str] = []
        self.not_ready, self.exit_at_once = not_ready, exit_at_once


def _on_reactor(fn):
    from twisted.python.threadable import isInIOThread
    return fn() if isInIOThread() else threads.blockingCallFromThread(reactor, fn)
