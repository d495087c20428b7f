"""The proof-request book: owner of every ProofRequest record, on the reactor thread.

Committed before visible: `update` builds the new immutable value, writes it, and only after
the store's commit swaps it in, publishes the serialized status response (read by gRPC
threads without entering the reactor) and tells the listeners. A failed write leaves the old
value visible and is logged with its traceback. Readers (`get`, `all`, `live`) see committed
values only; the scheduler, which decides the next change while earlier ones are still being
written, reads `latest` (the newest value, committed or in flight) and each update builds on
it, so changes made in a row compose. Writes commit in order (hierophant.store), so the
visible value only ever moves forward.

The book also gives requests up at `deadline + deadline_grace_secs`.
"""
from __future__ import annotations

import heapq
import logging
from dataclasses import replace
from typing import Callable, Iterable

from twisted.internet import defer
from twisted.python.failure import Failure

from hierophant.model import Execution, Fulfillment, ProofRequest, now, rid_hex
from hierophant.store import Store
from network_lib.proto import network_pb2 as pb

log = logging.getLogger(__name__)

Listener = Callable[[ProofRequest], None]


class NotCommitted(Exception):
    """The store refused a change; the book logged it with its traceback and kept the old
    value visible. Callers need not log it again."""


class RequestBook:
    def __init__(self, store: Store, requests: Iterable[ProofRequest], proof_uri: Callable[[str], str | None],
                 deadline_grace_secs: float, clock=None) -> None:
        if clock is None:
            from twisted.internet import reactor as clock
        self.store = store
        self.clock = clock
        self.proof_uri = proof_uri          # proof artifact id -> public download URL
        self.grace = deadline_grace_secs
        self._requests: dict[bytes, ProofRequest] = {}     # committed, visible
        self._latest: dict[bytes, ProofRequest] = {}       # newest value while a write is in flight
        self._by_key: dict[tuple, bytes] = {}
        # Read by gRPC threads: request id -> serialized GetProofRequestStatusResponse.
        self.status_bytes: dict[bytes, bytes] = {}
        self._deadlines: list[tuple[int, bytes]] = []
        self._timer = None
        self.on_new: list[Listener] = []        # a request was created (committed)
        self.on_terminal: list[Listener] = []   # a request's FULFILLED / UNFULFILLABLE was committed
        for r in requests:
            self._index(r)

    # -- reading ------------------------------------------------------------------
    def get(self, request_id: bytes) -> ProofRequest | None:
        """The committed (visible) value."""
        return self._requests.get(request_id)

    def latest(self, request_id: bytes) -> ProofRequest | None:
        """The newest value, including one whose write has not committed yet (owners only)."""
        return self._latest.get(request_id) or self._requests.get(request_id)

    def all(self) -> list[ProofRequest]:
        return list(self._requests.values())

    def live(self) -> list[ProofRequest]:
        return [r for r in self._requests.values() if not r.terminal]

    def find_retry(self, key: tuple) -> ProofRequest | None:
        """The request a retried RequestProof refers to, if it has not failed (DESIGN.md)."""
        rid = self._by_key.get(key)
        r = self._requests.get(rid) if rid else None
        return r if r is not None and r.fulfillment != Fulfillment.UNFULFILLABLE else None

    # -- writing --------------------------------------------------------------------
    @defer.inlineCallbacks
    def add(self, r: ProofRequest, nonces: dict[bytes, int] | None = None, also: Iterable = ()) -> defer.Deferred:
        """Persist a new request (with its nonce and `also` records), then make it visible."""
        yield self.store.write(put=[r, *also], nonces=nonces)
        self._index(r)
        for fn in self.on_new:
            fn(r)
        return r

    def update(self, request_id: bytes, also: Iterable = (), committed: Callable[[], None] | None = None,
               **changes) -> defer.Deferred:
        """Write the latest value with `changes`; visible once committed. Fires with it.
        `also`: records of other owners written in the same transaction; `committed` is called
        after the commit, before the new value is published (their owners swap them in)."""
        old = self.latest(request_id)
        if old is None:
            return defer.fail(KeyError(f"unknown request {rid_hex(request_id)}"))
        new = replace(old, updated_at=now(), **changes)
        self._latest[request_id] = new
        d = self.store.write(put=[new, *also])
        d.addCallbacks(self._committed, self._not_committed, callbackArgs=(new, committed), errbackArgs=(new,))
        return d

    def _committed(self, _, new: ProofRequest, committed: Callable[[], None] | None = None) -> ProofRequest:
        if committed is not None:
            committed()
        rid = new.request_id
        if self._latest.get(rid) is new:
            del self._latest[rid]
        old = self._requests.get(rid)
        if old is None:
            return new          # forgotten (retention) while the write was in flight
        self._requests[rid] = new
        self._publish(new)
        if new.terminal and not old.terminal:
            for fn in self.on_terminal:
                fn(new)
        return new

    def _not_committed(self, failure: Failure, new: ProofRequest) -> Failure:
        rid = new.request_id
        if self._latest.get(rid) is new:
            del self._latest[rid]         # the next change builds on the committed value
        log.error("request %s: the store refused a change; the old state stays visible\n%s",
                  rid_hex(rid), failure.getTraceback())
        return Failure(NotCommitted(f"request {rid_hex(rid)}: {failure.getErrorMessage()}"))

    def fulfill(self, request_id: bytes, proof_artifact: str, also: Iterable = (),
                committed: Callable[[], None] | None = None) -> defer.Deferred:
        # Never FULFILLED with UNEXECUTABLE (§9 item 14).
        return self.update(request_id, also, committed, fulfillment=Fulfillment.FULFILLED,
                           execution=Execution.EXECUTED, proof_artifact=proof_artifact, fulfilled_at=now(),
                           failure="", worker_id=None, job_token=None, assigned_at=None)

    def give_up(self, request_id: bytes, reason: str, unexecutable: bool = False,
                fail_cause: int = 0, **changes) -> defer.Deferred:
        """UNFULFILLABLE; UNEXECUTABLE only for a failure of the program itself (§6.1)."""
        r = self.latest(request_id)
        execution = Execution.UNEXECUTABLE if unexecutable else r.execution
        if execution == Execution.UNSPECIFIED:
            execution = Execution.UNEXECUTED
        log.warning("request %s unfulfillable: %s", rid_hex(request_id), reason)
        changes.setdefault("worker_id", None)
        changes.setdefault("job_token", None)
        changes.setdefault("assigned_at", None)
        return self.update(request_id, fulfillment=Fulfillment.UNFULFILLABLE, execution=execution,
                           failure=reason, execute_fail_cause=fail_cause, **changes)

    @defer.inlineCallbacks
    def forget(self, requests: list[ProofRequest]) -> defer.Deferred:
        """Delete finished requests (retention)."""
        if not requests:
            return
        yield self.store.write(delete=requests)
        for r in requests:
            self._requests.pop(r.request_id, None)
            self._latest.pop(r.request_id, None)
            self.status_bytes.pop(r.request_id, None)
            if self._by_key.get(r.idempotency_key) == r.request_id:
                del self._by_key[r.idempotency_key]

    # -- internals -----------------------------------------------------------------------
    def _index(self, r: ProofRequest) -> None:
        self._requests[r.request_id] = r
        self._by_key.setdefault(r.idempotency_key, r.request_id)
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
            r = self.latest(rid)
            if r is not None and not r.terminal:
                self.give_up(rid, "deadline passed before a proof was fulfilled").addErrback(_log_unless_logged)
        self._arm()

    def stop(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()


def _log_unless_logged(failure: Failure) -> None:
    """A refused write was logged by the book with its traceback; log anything else."""
    if not failure.check(NotCommitted):
        log.error("giving up an expired request failed\n%s", failure.getTraceback())


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
