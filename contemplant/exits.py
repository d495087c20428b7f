"""Exit statuses, and how a twistd-run contemplant leaves with one.

twistd always exits 0 once its reactor stops, so a fatal condition records its status here
and stops the reactor; `install_twistd_hook` (called by the twistd plugin only) registers an
atexit handler that runs after twistd has stopped the services, removed its pidfile and
closed its log, flushes stdio and leaves with `os._exit(status)`. This works under
`twistd -n`; a daemonised twistd has already detached, so only the log shows the reason.

A stop asked for by SIGTERM or Ctrl-C is a clean stop: the contemplant drains and exits 0
(twistd would otherwise re-raise the signal after shutting down, exiting "killed by
SIGTERM"), so supervisors and `make run` see a worker that stopped as asked.
"""
from __future__ import annotations

import atexit
import os
import sys

EXIT_OK = 0
EXIT_CONFIG = 2      # bad configuration (also: state_dir in use)
EXIT_AUTH = 3        # HTTP 401 at the upgrade: wrong worker_token
EXIT_FATAL = 4       # close 4002 (protocol MAJOR differs) or 4004 (dropped after max_strikes)

_status = EXIT_OK
_hooked = False


def set_status(status: int) -> None:
    global _status
    _status = status


def status() -> int:
    return _status


def install_twistd_hook() -> None:
    global _hooked
    if not _hooked:
        from twisted.internet import reactor
        atexit.register(_leave)
        reactor.addSystemEventTrigger("after", "shutdown", _forget_signal, reactor)
        _hooked = True


def _forget_signal(reactor) -> None:
    """After a clean shutdown: exit with our status, not by re-raising the stop signal."""
    if hasattr(reactor, "_exitSignal"):
        reactor._exitSignal = None


def _leave() -> None:
    if _status != EXIT_OK:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(_status)
