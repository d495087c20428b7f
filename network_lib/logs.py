"""Routes the standard `logging` module into Twisted's logging system.

Our modules use `logging.getLogger(__name__)`; twistd owns the output (its -l / --logfile
options, or stdout with -n), so every record ends up in one place with one format.
"""
from __future__ import annotations

import logging

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
