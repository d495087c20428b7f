"""Listening ports as twistd services (endpoints / strports), for both daemons.

`ListeningPort` binds in `privilegedStartService`, as twistd's own servers do. A port that
cannot be bound ends start-up with ONE line naming the configuration key, the address and the
reason, and exit status 2 (the status of configuration errors), without a traceback:
`fail_startup` writes that line to the original stderr (twistd has redirected sys.stderr
into its log by then) and raises SystemExit(2), which twistd lets end the process.
"""
from __future__ import annotations

import logging
import socket
import sys

from twisted.application import service
from twisted.internet import defer
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IListeningPort, IProtocolFactory
from twisted.python.failure import Failure

log = logging.getLogger(__name__)

EXIT_CONFIG = 2


def fail_startup(program: str, message: str) -> None:
    line = f"{program}: cannot start: {message}\n"
    log.error("%s", line.rstrip())
    stream = sys.__stderr__ or sys.stderr
    try:
        stream.write(line)
        stream.flush()
    except (OSError, ValueError):
        pass
    raise SystemExit(EXIT_CONFIG)


def tcp_description(port: int, interface: str = "", tls: tuple[str, str] | None = None) -> str:
    """A strports description: `tcp:PORT:interface=ADDR`, or `ssl:` with key and cert files."""
    def quote(v: str) -> str:
        return v.replace("\\", "\\\\").replace(":", "\\:").replace("=", "\\=")
    parts = [f"interface={quote(interface)}"] if interface else []
    if tls is not None:
        key, cert = tls
        return ":".join(["ssl", str(port), f"privateKey={quote(key)}", f"certKey={quote(cert)}", *parts])
    return ":".join(["tcp", str(port), *parts])


class ListeningPort(service.Service):
    """Listens on `description` with `factory` from privileged start-up until stopped."""

    def __init__(self, program: str, key: str, address: str, description: str,
                 factory: IProtocolFactory, reactor=None) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self.program, self.key, self.address = program, key, address
        self.description, self.factory, self.reactor = description, factory, reactor
        self.port: IListeningPort | None = None

    def privilegedStartService(self) -> None:
        super().privilegedStartService()
        self.listen()

    def listen(self) -> None:
        """Bind now (TCP and TLS endpoints bind synchronously); fail start-up if it cannot."""
        if self.port is not None:
            return
        result: list = []
        d = serverFromString(self.reactor, self.description).listen(self.factory)
        d.addBoth(result.append)
        if not result:
            fail_startup(self.program, f"{self.key} {self.address}: listening did not complete")
        outcome = result[0]
        if isinstance(outcome, Failure):
            reason = getattr(outcome.value, "socketError", None) or outcome.value
            fail_startup(self.program, f"cannot listen on {self.key} {self.address}: {_reason(reason)}")
        self.port = outcome

    def startService(self) -> None:
        self.listen()
        super().startService()

    def stopService(self):
        super().stopService()
        port, self.port = self.port, None
        return defer.maybeDeferred(port.stopListening) if port is not None else None

    def getHost(self):
        return self.port.getHost() if self.port is not None else None


def bind_error(address: str, port: int) -> str:
    """Why `address:port` cannot be bound (for servers that do not say, like grpcio)."""
    try:
        infos = socket.getaddrinfo(address or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as e:
        return _reason(e)
    family, kind, proto, _, sockaddr = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(sockaddr)
        except OSError as e:
            return _reason(e)
    return "the server could not bind it"


def _reason(error) -> str:
    strerror = getattr(error, "strerror", None)
    return strerror.lower() if strerror else str(error)
