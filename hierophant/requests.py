"""The proof-request book: every request's lifecycle, on the reactor.

It persists each change before it becomes visible, publishes a serialized status response
per request for the gRPC threads to read without entering the reactor, and gives requests
up at `deadline + deadline_grace_secs`. The scheduler drives requests through the small
interface at the bottom (queued -> assigned -> fulfilled / failed); status polls only read.
"""
from __future__ import annotations

import heapq
import logging
from typing import Callable, Iterable

from twisted.internet import defer

from hierophant.db import Database
from hierophant.model import Execution, Fulfillment, ProofRequest, now
from network_lib.proto import network_pb2 as pb

log = logging.getLogger(__name__)

Listener = Callable[[ProofRequest], None]


class RequestBook:
    def __init__(self, db: Database, requests: Iterable[ProofRequest], proof_uri: Callable[[str], str | None],
                 deadline_grace_secs: float, clock=None) -> None:
        from twisted.internet import reactor
        self.db = db
        self.clock = clock or reactor
        self.proof_uri = proof_uri          # proof artifact id -> public download URL
        self.grace = deadline_grace_secs
        self._requests: dict[bytes, ProofRequest] = {}
        self._by_key: dict[tuple, ProofRequest] = {}
        # Read by gRPC threads: request id -> serialized GetProofRequestStatusResponse.
        self.status_bytes: dict[bytes, bytes] = {}
        self._deadlines: list[tuple[int, bytes]] = []
        self._timer = None
        self.on_new: list[Listener] = []        # a request was created (or reloaded, queued)
        self.on_terminal: list[Listener] = []   # a request was fulfilled or given up
        for r in requests:
            self._index(r)

    # -- reading ------------------------------------------------------------------
    def get(self, request_id: bytes) -> ProofRequest | None:
        return self._requests.get(request_id)

    def all(self) -> list[ProofRequest]:
        return list(self._requests.values())

    def live(self) -> list[ProofRequest]:
        return [r for r in self._requests.values() if not r.terminal]

    def find_retry(self, key: tuple) -> ProofRequest | None:
        """The request a retried RequestProof refers to, if it has not failed (DESIGN.md)."""
        r = self._by_key.get(key)
        return r if r is not None and r.fulfillment != Fulfillment.UNFULFILLABLE else None

    # -- writing --------------------------------------------------------------------
    @defer.inlineCallbacks
    def add(self, r: ProofRequest, nonces: dict[bytes, int] | None = None, also: Iterable = ()):
        """Persist a new request (with its nonce and `also` records), then make it visible."""
        yield self.db.write(put=[r, *also], nonces=nonces)
        self._index(r)
        for fn in self.on_new:
            fn(r)
        return r

    @defer.inlineCallbacks
    def update(self, r: ProofRequest, **changes):
        """Apply `changes` to a request durably, then publish its new status."""
        for k, v in changes.items():
            setattr(r, k, v)
        r.updated_at = now()
        yield self.db.write(put=[r])
        self._publish(r)
        if r.terminal:
            for fn in self.on_terminal:
                fn(r)
        return r

    # -- the scheduler's interface (hierophant/workers/scheduler.py): `update` moves a request
    # between REQUESTED and ASSIGNED with its attempt fields; these two end it. -----------------
    def fulfill(self, r: ProofRequest, proof_artifact: str) -> defer.Deferred:
        # Never FULFILLED with UNEXECUTABLE (§9 item 14).
        return self.update(r, fulfillment=Fulfillment.FULFILLED, execution=Execution.EXECUTED,
                           proof_artifact=proof_artifact, fulfilled_at=now(), failure="")

    def give_up(self, r: ProofRequest, reason: str, unexecutable: bool = False,
                fail_cause: int = 0) -> defer.Deferred:
        """UNFULFILLABLE; UNEXECUTABLE only for a failure of the program itself (§6.1)."""
        execution = Execution.UNEXECUTABLE if unexecutable else r.execution
        if execution == Execution.UNSPECIFIED:
            execution = Execution.UNEXECUTED
        log.warning("request 0x%s unfulfillable: %s", r.request_id.hex(), reason)
        return self.update(r, fulfillment=Fulfillment.UNFULFILLABLE, execution=execution,
                           failure=reason, execute_fail_cause=fail_cause)

    @defer.inlineCallbacks
    def forget(self, requests: list[ProofRequest]):
        """Delete finished requests (retention)."""
        if not requests:
            return
        yield self.db.write(delete=requests)
        for r in requests:
            self._requests.pop(r.request_id, None)
            self.status_bytes.pop(r.request_id, None)
            if self._by_key.get(r.idempotency_key) is r:
                del self._by_key[r.idempotency_key]

    # -- internals -----------------------------------------------------------------------
    def _index(self, r: ProofRequest) -> None:
        self._requests[r.request_id] = r
        self._by_key.setdefault(r.idempotency_key, r)
        self._publish(r)
        if not r.terminal:
            self._watch_deadline(r)

    def _publish(self, r: ProofRequest) -> None:
        self.status_bytes[r.request_id] = status_response(r, self.proof_uri).SerializeToString()

    def _watch_deadline(self, r: ProofRequest) -> None:
        heapq.heappush(self._deadlines, (r.deadline, r.request_id))
        if self._deadlines[0][1] == r.request_id:
            self._arm()

    def _arm(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if self._deadlines:
            at = self._deadlines[0][0] + self.grace
            self._timer = self.clock.callLater(max(0.0, min(at - self.clock.seconds(), 86400.0)),
                                               self._expire)

    def _expire(self) -> None:
        self._timer = None
        cutoff = self.clock.seconds() - self.grace
        while self._deadlines and self._deadlines[0][0] <= cutoff:
            _, rid = heapq.heappop(self._deadlines)
            r = self._requests.get(rid)
            if r is not None and not r.terminal:
                self.give_up(r, "deadline passed before a proof was fulfilled").addErrback(
                    lambda f: log.error("could not give up an expired request: %s", f.getErrorMessage()))
        self._arm()

    def stop(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()


def status_response(r: ProofRequest, proof_uri: Callable[[str], str | None]) -> pb.GetProofRequestStatusResponse:
    """§2.5 / §6.1: always the request's own deadline; proof_uri only when FULFILLED."""
    resp = pb.GetProofRequestStatusResponse(
        fulfillment_status=int(r.fulfillment), execution_status=int(r.execution),
        request_tx_hash=r.tx_hash, deadline=r.deadline)
    if r.fulfillment == Fulfillment.FULFILLED and r.proof_artifact:
        uri = proof_uri(r.proof_artifact)
        if uri:
            resp.proof_uri = uri
    if r.public_values_hash:
        resp.public_values_hash = r.public_values_hash
    return resp
