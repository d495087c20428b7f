"""Executions off the reactor: a process pool returning Deferreds.

Execution is CPU-bound Python/unicorn work, so it runs in separate processes (spawned, not
forked: the parent runs gRPC and reactor threads). Inputs travel as file paths, so a large
stdin is read by the child, not pickled through a pipe.

No worker outlives its daemon (issue 8): each arms PDEATHSIG and watches its parent pid
(network_lib/lifeline.py), and ignores SIGINT (a terminal's Ctrl-C reaches the whole
process group; the daemon decides what stops). With the workers gone, multiprocessing's
resource tracker reads end-of-file and exits too. `stop` kills the workers and joins the
pool in a thread, so a stop is quick even with an execution running, and every semaphore
is released. After a `kill -9` the tracker unlinks the pool's semaphores as designed; it
is started with its stderr on /dev/null so that this routine cleanup does not print
"leaked semaphore" warnings into the daemon's terminal.
"""
from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from twisted.internet import defer, threads

from network_lib import lifeline


@dataclass(frozen=True)
class Verdict:
    """What an execution found. `ok`: ran to exit code 0; `cause` set: the guest failed
    (proto ExecuteFailureCause); `no_verdict`: stopped at the operator's cycle cap."""
    ok: bool
    cycles: int | None = None
    public_values: bytes | None = None
    cause: int | None = None
    message: str = ""
    no_verdict: bool = False


def run_files(elf_path: str, elf_offset: int, stdin_path: str, cycle_limit: int | None,
              cap: int | None) -> Verdict:
    """Execute (in a pool process). `cycle_limit` is the request's; `cap` the operator's."""
    from network_lib.executor import CycleLimitExceeded, GuestError, InvalidElf, InvalidStdin, execute
    elf = Path(elf_path).read_bytes()[elf_offset:]
    stdin = Path(stdin_path).read_bytes()
    limit = min(x for x in (cycle_limit, cap) if x) if (cycle_limit or cap) else None
    try:
        report = execute(elf, stdin, limit)
    except CycleLimitExceeded as e:
        if cap and limit == cap and (not cycle_limit or cycle_limit > cap):
            return Verdict(False, cycles=cap, no_verdict=True, message=f"stopped at [execution] max_cycles={cap}")
        return Verdict(False, cause=int(e.cause), message=str(e))
    except GuestError as e:
        return Verdict(False, cause=int(e.cause), message=str(e))
    except (InvalidElf, InvalidStdin) as e:
        # SP1 refuses to load or feed such a program: the program itself is at fault.
        return Verdict(False, cause=7, message=str(e))
    return Verdict(True, cycles=report.cycles, public_values=report.public_values)


class ExecutionPool:
    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._pending: set[defer.Deferred] = set()

    def run(self, elf_path: Path, elf_offset: int, stdin_path: Path, cycle_limit: int | None,
            cap: int | None = None) -> defer.Deferred:
        """Deferred[Verdict]; the pool starts on first use."""
        return self.submit(run_files, str(elf_path), elf_offset, str(stdin_path), cycle_limit, cap)

    def submit(self, fn, *args) -> defer.Deferred:
        """Deferred firing on the reactor with `fn(*args)` run in a pool process (`fn` and
        `args` must pickle); the pool starts on first use. Also used by proof checks."""
        from twisted.internet import reactor
        if self._pool is None:
            _start_tracker_quietly()
            self._pool = concurrent.futures.ProcessPoolExecutor(
                self.processes, mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_init, initargs=(os.getpid(),))
        future = self._pool.submit(fn, *args)
        d: defer.Deferred = defer.Deferred(canceller=lambda _: future.cancel())
        self._pending.add(d)
        d.addBoth(lambda result: (self._pending.discard(d), result)[1])

        def done(f: concurrent.futures.Future) -> None:
            if f.cancelled():
                return
            error = f.exception()
            reactor.callFromThread(_fire, d, error, None if error else f.result())
        future.add_done_callback(done)
        return d

    def stop(self) -> defer.Deferred:
        """Kill the workers (executions not finished are cancelled: CancelledError) and join
        the pool off the reactor; fires when every worker is gone."""
        pool, self._pool = self._pool, None
        for d in list(self._pending):
            d.cancel()
        if pool is None:
            return defer.succeed(None)
        workers = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in workers:
            try:
                p.kill()
            except (OSError, ValueError):
                pass        # already gone
        return threads.deferToThread(_join, pool, workers)


def _join(pool: concurrent.futures.ProcessPoolExecutor, workers: list) -> None:
    pool.shutdown(wait=True)
    for p in workers:
        p.join(5)


def _start_tracker_quietly() -> None:
    """Start multiprocessing's resource tracker (once) with /dev/null as its stderr."""
    from multiprocessing import resource_tracker
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        resource_tracker.ensure_running()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _worker_init(parent_pid: int) -> None:
    """In each pool worker, before any job: die with the parent, leave Ctrl-C to it."""
    lifeline.die_with_parent(parent_pid)
    lifeline.watch_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _fire(d: defer.Deferred, error: BaseException | None, verdict: Verdict | None) -> None:
    if d.called:
        return
    if error is not None:
        d.errback(error)
    else:
        d.callback(verdict)
