"""Routes the standard `logging` module into Twisted's logging system.

Our modules use `logging.getLogger(__name__)`; twistd owns the output (its -l / --logfile
options, or stdout with -n), so every record ends up in one place with one format.
`enable_fatal_tracebacks` makes a fatal signal (SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL)
leave the Python traceback of every thread on the process's stderr (faulthandler).
"""
from __future__ import annotations

import faulthandler
import logging
import sys

from twisted.logger import Logger, LogLevel

_LEVELS = {logging.DEBUG: LogLevel.debug, logging.INFO: LogLevel.info,
           logging.WARNING: LogLevel.warn, logging.ERROR: LogLevel.error,
           logging.CRITICAL: LogLevel.critical}
LEVEL_NAMES = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
               "error": logging.ERROR}


class TwistedHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        level = _LEVELS.get(record.levelno, LogLevel.info)
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        Logger(namespace=record.name).emit(level, "{text}", text=text)


def route_stdlib_logging(level: str = "info") -> None:
    root = logging.getLogger()
    if not any(isinstance(h, TwistedHandler) for h in root.handlers):
        root.addHandler(TwistedHandler())
    root.setLevel(LEVEL_NAMES.get(level, logging.INFO))


def enable_fatal_tracebacks() -> None:
    """faulthandler on the real stderr (fd 2: the terminal, or twistd -n's output), taken
    before twistd replaces `sys.stderr` with a logging file."""
    stream = sys.__stderr__
    if stream is not None and not faulthandler.is_enabled():
        try:
            faulthandler.enable(file=stream, all_threads=True)
        except (ValueError, OSError, AttributeError):
            pass            # no usable stderr (closed or without a file descriptor)
