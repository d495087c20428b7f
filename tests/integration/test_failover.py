"""Issue 9 end to end: a contemplant with two provers, failover in seconds after kill -9, and
re-attachment after a cut connection (a TCP relay in the test), with real twistd processes."""
from __future__ import annotations

import re
import socket
import threading
import time

from network_lib.proto import network_pb2 as pb
from tests.integration.test_contemplants import history, status, submit, wait_status
from tests.integration.test_durability import wait_for


class Relay:
    """A TCP relay on loopback that the test can cut: every connection through it is closed
    at once (both sides), as a network failure would; new connections are still relayed."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.port = self.server.getsockname()[1]
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.accepted = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                down, _ = self.server.accept()
            except OSError:
                return
            up = socket.create_connection(("127.0.0.1", self.target))
            with self._lock:
                self.pairs.append((down, up))
                self.accepted += 1
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        with self._lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def close(self) -> None:
        self.server.close()
        self.cut()


V6 = {"backend": "mock", "delay_secs": 1.0, "slots": 1, "circuit_versions": ["v6.1.0"]}
V5 = {"backend": "mock", "delay_secs": 1.0, "slots": 1, "circuit_versions": ["v5.0.0"]}


def test_a_contemplant_with_a_v6_and_a_v5_prover_fulfils_both_kinds(make_hierophant, make_contemplant):
    h = make_hierophant()
    c = make_contemplant(h, "mixed", start=False)
    c.cfg["provers"] = [V6, V5]
    c.start()
    rids = submit(h, n=3, profile="6.x") + submit(h, n=3, profile="5.0", program=2)
    for rid in rids:
        wait_status(h, rid, pb.FULFILLED, timeout=60)
    outcomes = [[e["outcome"] for e in history(h, rid)] for rid in rids]
    assert outcomes == [["fulfilled"]] * 6, outcomes        # no refusal, no retry
    provers = c.listed()["provers"]
    assert [(p["circuit_versions"], p["slots"]) for p in provers] == [(["v6.1.0"], 1), (["v5.0.0"], 1)]
    assert "no free slot" not in c.log()


def test_kill9_mid_proof_fails_over_within_reconnect_grace(make_hierophant, make_contemplant):
    grace = 3.0
    h = make_hierophant(scheduler={"reconnect_grace_secs": grace})      # heartbeat_timeout_secs: 45
    slow = make_contemplant(h, "slow", delay_secs=120)
    (rid,) = submit(h)
    wait_status(h, rid, pb.ASSIGNED)
    make_contemplant(h, "fast", delay_secs=0.2)
    killed = time.monotonic()
    slow.kill9()
    wait_status(h, rid, pb.FULFILLED, timeout=grace + 15)
    took = time.monotonic() - killed
    assert took < grace + 5, f"failover took {took:.1f}s"
    outcomes = [(e["worker_name"], e["outcome"]) for e in history(h, rid)]
    assert sorted(outcomes) == [("fast", "fulfilled"), ("slow", "lost")], outcomes
    assert status(h, rid).fulfillment_status == pb.FULFILLED


def test_a_cut_connection_reattaches_and_finishes_without_a_second_run(make_hierophant, make_contemplant):
    h = make_hierophant()
    relay = Relay(h.http_port)
    try:
        c = make_contemplant(h, "relayed", start=False, delay_secs=4.0)
        c.cfg["hierophant_ws_address"] = f"ws://127.0.0.1:{relay.port}/ws"
        c.start()
        (rid,) = submit(h)
        wait_status(h, rid, pb.ASSIGNED)
        wait_for(lambda: "job received" in c.log(), what="the job to start")
        relay.cut()
        wait_for(lambda: relay.accepted >= 2 and c.listed() and c.listed()["connected"],
                 what="the contemplant to reconnect through the relay")
        wait_status(h, rid, pb.FULFILLED, timeout=30)
    finally:
        relay.close()
    assert [e["outcome"] for e in history(h, rid)] == ["fulfilled"]
    assert history(h, rid)[0]["attempt"] == 1
    assert len(re.findall(r"job received: 0x" + rid.hex()[:16], c.log())) == 1, c.log()
    assert "back to the queue" not in h.log()
