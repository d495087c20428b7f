"""A standby that takes over (README "Beyond one machine"): two real hierophants on one
PostgreSQL + S3, HAProxy in front of them with etc/ha/haproxy.cfg, a mock contemplant that
lists both. The leader killed mid-proof, both started at once, the leader paused past its
lease. Real servers (tests/servers.py), each skipped, naming its package, when absent."""
from __future__ import annotations

import re
import signal
import threading
import time
import urllib.error
import urllib.request

import grpc
import psycopg
import pytest

from network_lib.client import NetworkClient
from network_lib.proto import network_pb2 as pb
from network_lib.proto import network_pb2_grpc
from tests import servers
from tests.integration.harness import WORKER_TOKEN
from tests.integration.sp1data import elf, stdin, vk, vk_hash
from tests.integration.test_durability import wait_for

pytestmark = pytest.mark.parametrize("store_backend", ["pg+s3"], indirect=True)

TAKEOVER = 6.0                  # [ha] takeover_secs of these tests (lease 3.6 s)
HA = {"ha": {"takeover_secs": TAKEOVER}}
RETRYABLE = {grpc.StatusCode.UNAVAILABLE}


@pytest.fixture
def pair(make_hierophant, request):
    """Two hierophants on the test's PostgreSQL + bucket, not started, and HAProxy before them;
    both hand out the proxy's URL (public_url), as an operator sets them up."""
    problem = servers.missing_haproxy()
    if problem:
        pytest.skip(problem)
    a = make_hierophant("a", start=False, **HA)
    b = make_hierophant("b", start=False, **HA)
    proxy = servers.HaProxy([(a.grpc_port, a.http_port), (b.grpc_port, b.http_port)])
    request.addfinalizer(proxy.remove)
    for h in (a, b):
        h.cfg["public_url"] = proxy.http_url
        h.cfg["scheduler"] = {"reattach_grace_secs": 60}
    return a, b, proxy


def standby(h) -> bool:
    code, body = h.healthz_answer()
    return code == 503 and body.strip() == "standby"


def leading(h) -> bool:
    return h.healthz() == 200


def lead_with_worker(pair, make_contemplant, **prover):
    """a leads, b stands by, the proxy sends clients to a, and a mock contemplant listing
    both addresses is registered with a."""
    a, b, proxy = pair
    a.start()
    b.start(ready=False)
    assert leading(a) and standby(b)
    wait_for(lambda: proxy_ok(proxy), timeout=30, what="HAProxy to see the leader")
    c = make_contemplant(a, start=False, **prover)
    c.cfg["hierophant_ws_address"] = [f"ws://127.0.0.1:{h.http_port}/ws" for h in (a, b)]
    c.start(wait=False).wait_registered(60)
    return c


def status(target: str, rid: bytes) -> pb.GetProofRequestStatusResponse:
    with grpc.insecure_channel(target) as ch:
        return network_pb2_grpc.ProverNetworkStub(ch).GetProofRequestStatus(
            pb.GetProofRequestStatusRequest(request_id=rid), timeout=10)


def lease_row(h) -> tuple[str, int]:
    with psycopg.connect(h.cfg["store"]["url"]) as conn:
        holder, epoch = conn.execute("SELECT holder, epoch FROM leader_lease").fetchone()
    return holder, epoch


class Poller:
    """A client polling through the proxy all along: every answer's status code, in order."""

    def __init__(self, target: str, rids: list[bytes]) -> None:
        self.target, self.rids = target, rids
        self.codes: list[grpc.StatusCode] = []
        self.seen: dict[bytes, set[int]] = {rid: set() for rid in rids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with grpc.insecure_channel(self.target) as ch:
                stub = network_pb2_grpc.ProverNetworkStub(ch)
                while not self._stop.is_set():
                    try:
                        for rid in self.rids:
                            r = stub.GetProofRequestStatus(pb.GetProofRequestStatusRequest(request_id=rid), timeout=5)
                            self.seen[rid].add(r.fulfillment_status)
                        self.codes.append(grpc.StatusCode.OK)
                    except grpc.RpcError as e:
                        self.codes.append(e.code())
                        break               # a new channel, as a client that reconnects
                    time.sleep(0.05)
            time.sleep(0.05)

    def stop(self) -> list[grpc.StatusCode]:
        self._stop.set()
        self._thread.join(30)
        return self.codes


def test_leader_killed_mid_proof_the_standby_finishes_it_without_proving_again(pair, make_contemplant):
    a, b, proxy = pair
    worker = lead_with_worker(pair, make_contemplant, delay_secs=10.0)
    with NetworkClient(proxy.rpc_url, unsigned=True, profile="6.x") as c:
        c.register_program(vk_hash(1), vk(), elf())
        mid = c.request_proof(vk_hash(1), stdin(1), "core")
        wait_for(lambda: status(a.grpc_target, mid).fulfillment_status == pb.ASSIGNED, timeout=60,
                 what="the first request to be assigned")
        queued = c.request_proof(vk_hash(1), stdin(2), "core")      # waits behind it: one slot
    before = {mid: pb.ASSIGNED, queued: pb.REQUESTED}
    assert {rid: status(a.grpc_target, rid).fulfillment_status for rid in before} == before
    poller = Poller(proxy.grpc_target, [mid, queued])
    wait_for(lambda: len(poller.codes) >= 3, timeout=30, what="the poller to get answers")

    a.kill9()
    killed = time.monotonic()
    wait_for(lambda: leading(b), timeout=60, what="the standby to lead")
    took = time.monotonic() - killed
    assert took <= TAKEOVER, f"the standby led {took:.1f}s after the leader died"
    # Every earlier request answers with its true status from the new leader.
    assert {rid: status(b.grpc_target, rid).fulfillment_status for rid in before} == before

    wait_for(lambda: status(b.grpc_target, mid).fulfillment_status == pb.FULFILLED, timeout=120,
             what="the interrupted proof to be fulfilled")
    wait_for(lambda: status(b.grpc_target, queued).fulfillment_status == pb.FULFILLED, timeout=120,
             what="the queued proof to be fulfilled")
    codes = poller.stop()
    assert set(codes) - {grpc.StatusCode.OK} <= RETRYABLE, codes
    assert codes[-1] == grpc.StatusCode.OK
    assert poller.seen[mid] <= {pb.ASSIGNED, pb.FULFILLED} and poller.seen[queued] <= {pb.REQUESTED, pb.ASSIGNED, pb.FULFILLED}

    # One proving run: one attempt in the history, one job received by the contemplant.
    runs = [e for e in b.proof_history() if e["proof_request_id"] == "0x" + mid.hex()]
    assert [(e["attempt"], e["outcome"]) for e in runs] == [(1, "fulfilled")], runs
    received = re.findall(r"job received: " + re.escape("0x" + mid.hex()[:16]), worker.log())
    assert len(received) == 1, worker.log()
    with NetworkClient(proxy.rpc_url, unsigned=True, profile="6.x") as c:
        assert c.wait_proof(mid, timeout=60)            # the proof downloads through the proxy
    assert lease_row(b)[1] == 2


def proxy_ok(proxy) -> bool:
    try:
        status(proxy.grpc_target, b"\0" * 32)
    except grpc.RpcError as e:
        return e.code() == grpc.StatusCode.NOT_FOUND
    return False


def test_two_started_at_once_exactly_one_leads(pair):
    a, b, _ = pair
    for h in (a, b):
        h.start(ready=None)                 # both launched together, neither waiting for the other
    for h in (a, b):
        h.wait_answering(60)
    wait_for(lambda: leading(a) or leading(b), timeout=60, what="one of them to lead")
    # Watched for a few lease periods: always exactly one leads, the other stands by.
    end = time.monotonic() + 2 * TAKEOVER
    while time.monotonic() < end:
        states = [(leading(h), standby(h)) for h in (a, b)]
        assert sorted(states) == [(False, True), (True, False)], states
        time.sleep(0.1)
    leader, other = (a, b) if leading(a) else (b, a)
    holder, epoch = lease_row(leader)
    assert epoch == 1 and holder in leader.log()
    with pytest.raises(grpc.RpcError) as refused:
        status(other.grpc_target, b"\0" * 32)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE and "standby" in refused.value.details()
    with pytest.raises(grpc.RpcError) as unknown:
        status(leader.grpc_target, b"\0" * 32)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    # The standby refuses a worker's upgrade (so it dials the next address) and every path.
    code, body, role = http_get(f"{other.http_url}/ws", {"Authorization": f"Bearer {WORKER_TOKEN}",
                                                         "Connection": "Upgrade", "Upgrade": "websocket",
                                                         "Sec-WebSocket-Version": "13",
                                                         "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert (code, role) == (503, "standby") and "next hierophant_ws_address" in body
    code, body, role = http_get(f"{other.http_url}/contemplants", {})
    assert (code, role) == (503, "standby") and "does not lead" in body
    assert http_get(f"{leader.http_url}/contemplants", {})[0] == 200


def http_get(url: str, headers: dict) -> tuple[int, str, str | None]:
    """(status, body, X-Hierophant-Role) of a GET."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return r.status, r.read().decode(), r.headers.get("x-hierophant-role")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers.get("x-hierophant-role")


def test_leader_paused_past_its_lease_is_fenced_steps_down_and_service_goes_on(pair, make_contemplant):
    a, b, proxy = pair
    worker = lead_with_worker(pair, make_contemplant, delay_secs=0.5)
    with NetworkClient(proxy.rpc_url, unsigned=True, profile="6.x") as c:
        c.register_program(vk_hash(1), vk(), elf())
        first = c.request_proof(vk_hash(1), stdin(1), "core")
        assert c.wait_proof(first, timeout=60)
        spare = c.create_artifact("STDIN")              # for a RequestProof the paused leader gets
        c.upload(spare.artifact_presigned_url, stdin(3))
    rows_before = count_requests(a)

    a.proc.send_signal(signal.SIGSTOP)
    try:
        wait_for(lambda: leading(b), timeout=60, what="the standby to lead while the leader is paused")
        # A client that reached the paused leader directly: its call is served after the resume.
        late: list = []
        caller = threading.Thread(target=lambda: late.append(raw_request_proof(a.grpc_target, spare.artifact_uri)), daemon=True)
        caller.start()
        time.sleep(1.0)
    finally:
        a.proc.send_signal(signal.SIGCONT)
    caller.join(60)
    assert late and late[0] in RETRYABLE, late          # refused: it can change nothing
    wait_for(lambda: standby(a), timeout=30, what="the old leader to stand by")
    assert "lost the leadership" in a.log()
    assert count_requests(a) == rows_before
    assert leading(b) and lease_row(b)[0] in b.log()

    # Its worker socket closed (4007): the contemplant went on to the new leader, which proves.
    wait_for(lambda: any(w["worker_id"] == worker.worker_id and w["connected"] for w in b.contemplants()),
             timeout=60, what="the contemplant to join the new leader")
    with NetworkClient(proxy.rpc_url, unsigned=True, profile="6.x") as c:
        after = c.request_proof(vk_hash(1), stdin(2), "core")
        assert c.wait_proof(after, timeout=120)
    assert standby(a)                                    # still standing by: b kept its lease


def count_requests(h) -> int:
    with psycopg.connect(h.cfg["store"]["url"]) as conn:
        return conn.execute("SELECT count(*) FROM requests").fetchone()[0]


def raw_request_proof(target: str, stdin_uri: str):
    """RequestProof straight to one hierophant, without retries: its status code."""
    body = pb.RequestProofRequestBody(nonce=0, vk_hash=vk_hash(1), version="sp1-v6.1.0", mode=1, strategy=1,
                                      stdin_uri=stdin_uri, deadline=int(time.time()) + 600)
    with grpc.insecure_channel(target) as ch:
        try:
            network_pb2_grpc.ProverNetworkStub(ch).RequestProof(
                pb.RequestProofRequest(format=1, signature=b"\0" * 65, body=body), timeout=50)
        except grpc.RpcError as e:
            return e.code()
    return grpc.StatusCode.OK
