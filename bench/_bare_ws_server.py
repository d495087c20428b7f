#!/usr/bin/env python3
"""The idle-cost baselines of bench/scheduler_bench.py: WebSocket servers that do nothing.

    python bench/_bare_ws_server.py PORT HEARTBEAT_INTERVAL_SECS {autobahn|lean}

Listens on 127.0.0.1:PORT with
  - autobahn: Autobahn's stock `WebSocketServerProtocol` and default options (its own frame
    parser and UTF-8 validator): what receiving the frames costs any Twisted + Autobahn server;
  - lean: the hierophant's own `LeanWebSocketServerProtocol` with the hierophant's options
    (hierophant/web/lean_websocket.py): the floor of the hierophant's frame path.
It answers a worker's `register` with a `registered` carrying the
given heartbeat interval (docs/worker-protocol.md), so bench/_simworkers.py's contemplants
connect and heartbeat exactly as they do to a hierophant, and it ignores every other message:
no parsing, no bookkeeping. The hierophant's idle CPU next to these servers', with the same
connections and heartbeats on the same CPU, shows what the hierophant itself adds to the floor
the machine, Twisted and Autobahn set. Prints "listening" once the port is open.
"""
from __future__ import annotations

import sys

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from twisted.internet import endpoints, reactor

from hierophant.web.lean_websocket import LeanWebSocketServerProtocol
from hierophant.web.worker_socket import SOCKET_OPTIONS
from network_lib import worker_protocol as wp

REGISTER_PREFIX = b'{"type":"register"'      # how wp.Message.to_json starts a register: the only frame read


class BareWorkerSocket:
    """Mixed into a server protocol class: answers `register`, ignores everything else."""

    interval = 10.0

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        if payload.startswith(REGISTER_PREFIX):
            hello = wp.parse(payload)
            self.sendMessage(wp.Registered(protocol=hello.protocol, worker_id=hello.worker_id,
                                           heartbeat_interval_secs=self.interval).to_json().encode())


def main() -> None:
    port, interval, kind = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    factory = WebSocketServerFactory(f"ws://127.0.0.1:{port}")
    if kind == "lean":
        base = LeanWebSocketServerProtocol
        factory.setProtocolOptions(**SOCKET_OPTIONS)
    elif kind == "autobahn":
        base = WebSocketServerProtocol
    else:
        raise SystemExit(f"unknown kind {kind!r}: autobahn or lean")
    factory.protocol = type("BareWorkerSocketAt", (BareWorkerSocket, base), {"interval": interval})
    d = endpoints.TCP4ServerEndpoint(reactor, port, backlog=1024, interface="127.0.0.1").listen(factory)
    d.addCallback(lambda _: print("listening", flush=True))
    d.addErrback(lambda f: (print(f"cannot listen: {f.getErrorMessage()}", file=sys.stderr), reactor.stop()))
    reactor.run()


if __name__ == "__main__":
    main()
