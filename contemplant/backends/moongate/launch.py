"""Where moongate servers come from: containers we run through the docker SDK (one per GPU,
prover-backends.md §2.1), or endpoints an operator runs. Docker calls block, so each runs
in a thread; log lines come back to the reactor through `callFromThread`."""
from __future__ import annotations

import collections
import logging
import threading
from dataclasses import dataclass, field
from typing import Callable, Optional

from twisted.internet import defer, task, threads

from contemplant.backends.moongate.twirp import TwirpClient

log = logging.getLogger("contemplant.moongate")

CONTAINER_PORT = "3000/tcp"          # moongate listens on :3000 (§2.1)
READY_TIMEOUT_SECS = 300.0           # the SDK polls Ready every 2 s for up to 300 s (§2.1)
READY_INTERVAL_SECS = 2.0
LOG_TAIL = 20


class LaunchError(Exception):
    """A server that could not be started or never became ready."""


@dataclass(eq=False)
class Server:
    """One moongate server: one job at a time."""
    name: str
    twirp: TwirpClient
    container: object = None
    log_sink: Optional[Callable[[str], None]] = None      # the running job's LogProgress.feed
    tail: collections.deque = field(default_factory=lambda: collections.deque(maxlen=LOG_TAIL))

    def line(self, line: str) -> None:
        """One log line, on the reactor."""
        self.tail.append(line)
        log.debug("%s: %s", self.name, line)
        if self.log_sink is not None:
            self.log_sink(line)


class Launcher:
    """Common ready-polling; subclasses bring servers up and down."""

    def __init__(self, clock=None, http=None, ready_timeout: float = READY_TIMEOUT_SECS,
                 ready_interval: float = READY_INTERVAL_SECS) -> None:
        if clock is None:
            from twisted.internet import reactor as clock
        self.clock, self.http = clock, http
        self.ready_timeout, self.ready_interval = ready_timeout, ready_interval

    def start(self) -> defer.Deferred:
        raise NotImplementedError

    def stop(self) -> defer.Deferred:
        return defer.succeed(None)

    def restart(self, server: Server) -> defer.Deferred:
        """After a cancelled job: make the server idle again (Deferred[None])."""
        return self.wait_ready(server)

    @defer.inlineCallbacks
    def wait_ready(self, server: Server):
        start = self.clock.seconds()
        while True:
            yield self.check_alive(server)
            if (yield server.twirp.ready()):
                log.info("moongate %s is ready (%.0f s)", server.name, self.clock.seconds() - start)
                return
            if self.clock.seconds() - start >= self.ready_timeout:
                raise LaunchError(f"moongate {server.name} not ready after {self.ready_timeout:.0f} s"
                                  + _tail(server))
            yield task.deferLater(self.clock, self.ready_interval, lambda: None)

    def check_alive(self, server: Server) -> defer.Deferred:
        return defer.succeed(None)


class EndpointLauncher(Launcher):
    """Operator-run servers at fixed URLs: no logs, so no progress from them (§2.6)."""

    def __init__(self, endpoints: list[str], **kw) -> None:
        super().__init__(**kw)
        self.servers = [Server(url, TwirpClient(url, self.http)) for url in endpoints]

    @defer.inlineCallbacks
    def start(self):
        yield defer.gatherResults([self.wait_ready(s) for s in self.servers], consumeErrors=True)
        return list(self.servers)


class DockerLauncher(Launcher):
    """One container per GPU with a GPU device request and its own loopback host port."""

    def __init__(self, image: str, gpus: list[int], docker_factory: Optional[Callable] = None,
                 to_thread: Callable = threads.deferToThread, **kw) -> None:
        super().__init__(**kw)
        self.image, self.gpus = image, list(gpus)
        self.docker_factory = docker_factory or _docker_from_env
        self.to_thread = to_thread
        self.docker = None
        self.servers: list[Server] = []

    @defer.inlineCallbacks
    def start(self):
        self.docker = yield self.to_thread(self.docker_factory)
        yield self.to_thread(self._ensure_image)
        yield defer.gatherResults([self._launch(g) for g in self.gpus], consumeErrors=True)
        return list(self.servers)

    def stop(self) -> defer.Deferred:
        servers, self.servers = self.servers, []
        return defer.gatherResults([self.to_thread(self._remove, s.container) for s in servers],
                                   consumeErrors=True)

    @defer.inlineCallbacks
    def restart(self, server: Server):
        """A cancelled job may still run inside: replace the container."""
        log.info("restarting moongate %s after a cancelled job", server.name)
        yield self.to_thread(self._remove, server.container)
        yield self._start_container(server, _gpu_of(server))

    @defer.inlineCallbacks
    def _launch(self, gpu: int):
        server = Server(f"gpu{gpu}", None)
        self.servers.append(server)
        yield self._start_container(server, gpu)

    @defer.inlineCallbacks
    def _start_container(self, server: Server, gpu: int):
        server.container = yield self.to_thread(self._run, gpu)
        port = yield self.to_thread(self._host_port, server.container)
        server.twirp = TwirpClient(f"http://127.0.0.1:{port}", self.http)
        log.info("moongate container %s for GPU %d on 127.0.0.1:%d", self.container_name(gpu), gpu, port)
        self._follow_logs(server)
        yield self.wait_ready(server)

    def check_alive(self, server: Server) -> defer.Deferred:
        return self.to_thread(self._check_alive, server)

    # -- in threads ---------------------------------------------------------------------------
    @staticmethod
    def container_name(gpu: int) -> str:
        return f"hierophant-moongate-gpu{gpu}"

    def _ensure_image(self) -> None:
        import docker.errors
        try:
            self.docker.images.get(self.image)
        except docker.errors.ImageNotFound:
            log.info("pulling %s", self.image)
            self.docker.images.pull(self.image)

    def _run(self, gpu: int):
        import docker.errors
        import docker.types
        name = self.container_name(gpu)
        try:                                  # a leftover of a crashed contemplant
            self.docker.containers.get(name).remove(force=True)
        except docker.errors.NotFound:
            pass
        return self.docker.containers.run(
            self.image, detach=True, name=name, environment={"RUST_LOG": "info"},
            ports={CONTAINER_PORT: ("127.0.0.1", None)},     # docker picks a free host port
            device_requests=[docker.types.DeviceRequest(device_ids=[str(gpu)], capabilities=[["gpu"]])],
            labels={"org.hierophant.role": "moongate", "org.hierophant.gpu": str(gpu)})

    @staticmethod
    def _host_port(container) -> int:
        container.reload()
        bindings = (container.attrs.get("NetworkSettings", {}).get("Ports") or {}).get(CONTAINER_PORT)
        if not bindings:
            raise LaunchError(f"container {container.name} has no host port for {CONTAINER_PORT}")
        return int(bindings[0]["HostPort"])

    @staticmethod
    def _check_alive(server: Server) -> None:
        server.container.reload()
        if server.container.status in ("exited", "dead"):
            raise LaunchError(f"moongate container {server.container.name} {server.container.status}"
                              + _tail(server))

    @staticmethod
    def _remove(container) -> None:
        import docker.errors
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            pass

    def _follow_logs(self, server: Server) -> None:
        from twisted.internet import reactor
        container = server.container

        def follow() -> None:
            buf = b""
            try:
                for chunk in container.logs(stream=True, follow=True):
                    buf += chunk
                    *lines, buf = buf.split(b"\n")
                    for line in lines:
                        reactor.callFromThread(server.line, line.decode("utf-8", "replace").rstrip("\r"))
            except Exception as e:  # noqa: BLE001 - the container went away
                log.debug("log stream of %s ended: %s", server.name, e)
        threading.Thread(target=follow, name=f"moongate-logs-{server.name}", daemon=True).start()


def _gpu_of(server: Server) -> int:
    return int(server.name.removeprefix("gpu"))


def _tail(server: Server) -> str:
    return ("; last log lines: " + " | ".join(server.tail)) if server.tail else ""


def _docker_from_env():
    import docker
    return docker.from_env()
