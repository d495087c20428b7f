"""Group commit on one writer thread, shared by the SQLite and PostgreSQL stores.

Callers (on the reactor) `submit` a list of SQL operations and get a Deferred. The writer
thread takes everything queued (up to MAX_BATCH writes) and commits it as ONE transaction,
in submission order, then fires each Deferred on the reactor. If that transaction fails,
the writes are retried one by one so one bad write does not sink the others — unless the
failure is one of `unavailable` (the server is gone): then every write of the batch fails
at once with it, quickly. `on_commit(seconds)` is called on the writer thread after each
successful transaction (the metrics' commit latency).
"""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

from twisted.internet import defer
from twisted.python.failure import Failure

MAX_BATCH = 512
Ops = list[tuple[str, tuple]]


class GroupCommitWriter:
    def __init__(self, transaction: Callable[[Ops], None], name: str, reactor=None,
                 unavailable: tuple[type[BaseException], ...] = ()) -> None:
        self._transaction = transaction
        self._name = name
        self._reactor = reactor
        self._unavailable = unavailable
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self.on_commit: Callable[[float], None] = lambda secs: None

    def start(self) -> None:
        if self._reactor is None:
            from twisted.internet import reactor
            self._reactor = reactor
        self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Commit what is queued, then end the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def submit(self, ops: Ops) -> defer.Deferred:
        d: defer.Deferred = defer.Deferred()
        self._queue.put((ops, d))
        return d

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                batch.append(nxt)
            for d, error in self._commit(batch):
                if error is None:
                    self._reactor.callFromThread(d.callback, None)
                else:
                    self._reactor.callFromThread(d.errback, error)

    def _timed(self, ops: Ops) -> None:
        start = time.perf_counter()
        self._transaction(ops)
        self.on_commit(time.perf_counter() - start)

    def _commit(self, batch: list) -> list:
        try:
            self._timed([op for ops, _ in batch for op in ops])
            return [(d, None) for _, d in batch]
        except self._unavailable:
            failure = Failure()
            return [(d, failure) for _, d in batch]
        except Exception:  # noqa: BLE001 - any failure goes to the caller's Deferred
            if len(batch) == 1:
                return [(batch[0][1], Failure())]
        # One bad write must not sink the others: commit them one by one.
        results = []
        for ops, d in batch:
            try:
                self._timed(ops)
                results.append((d, None))
            except Exception:  # noqa: BLE001 - any failure goes to the caller's Deferred
                results.append((d, Failure()))
        return results


class WriterStore:
    """What the SQLite and PostgreSQL stores share: their writes go through `self._writer`."""

    _writer: GroupCommitWriter

    def start(self) -> None:
        self._writer.start()

    @property
    def on_commit(self) -> Callable[[float], None]:
        """Called with each commit's seconds, on the writer thread (metrics)."""
        return self._writer.on_commit

    @on_commit.setter
    def on_commit(self, fn: Callable[[float], None]) -> None:
        self._writer.on_commit = fn
