"""Executions off the reactor: a process pool returning Deferreds.

Execution is CPU-bound Python/unicorn work, so it runs in separate processes (spawned, not
forked: the parent runs gRPC and reactor threads). Inputs travel as file paths, so a large
stdin is read by the child, not pickled through a pipe.
"""
from __future__ import annotations

import concurrent.futures
import multiprocessing
from dataclasses import dataclass
from pathlib import Path

from twisted.internet import defer


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


def die_with_parent() -> None:
    """In a pool process: be killed when the parent dies, even by kill -9 (Linux
    PR_SET_PDEATHSIG); otherwise every killed hierophant leaves its pool processes behind."""
    import ctypes
    import os
    import signal
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)      # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:       # the parent died before the call: nobody will signal us
        os._exit(0)


class ExecutionPool:
    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def run(self, elf_path: Path, elf_offset: int, stdin_path: Path, cycle_limit: int | None,
            cap: int | None = None) -> defer.Deferred:
        """Deferred[Verdict]; the pool starts on first use."""
        from twisted.internet import reactor
        if self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                self.processes, mp_context=multiprocessing.get_context("spawn"), initializer=die_with_parent)
        future = self._pool.submit(run_files, str(elf_path), elf_offset, str(stdin_path), cycle_limit, cap)
        d: defer.Deferred = defer.Deferred(canceller=lambda _: future.cancel())

        def done(f: concurrent.futures.Future) -> None:
            if f.cancelled():
                return
            error = f.exception()
            reactor.callFromThread(_fire, d, error, None if error else f.result())
        future.add_done_callback(done)
        return d

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _fire(d: defer.Deferred, error: BaseException | None, verdict: Verdict | None) -> None:
    if d.called:
        return
    if error is not None:
        d.errback(error)
    else:
        d.callback(verdict)
