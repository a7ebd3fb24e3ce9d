"""Logging for the command line: one short line per event on stderr, as text or as JSON.

Without this, Python's last-resort handler prints whatever a library logs at WARNING, and
urllib3, simple_salesforce and hubspot-api-client log whole exception chains. At the default
verbosity those libraries are quiet (tiersync's own retry line says what happened, once per retry);
``-v`` shows tiersync's INFO lines and the libraries' warnings, ``-vv`` everything at DEBUG.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from enum import StrEnum

LIBRARIES = ("urllib3", "requests", "simple_salesforce", "hubspot", "zeep")
"""Loggers of the libraries tiersync drives: errors only, unless asked with ``-v``."""
SERVER = "cheroot"
"""The sandbox's web server: a client that hangs up mid-handshake is its ERROR, nobody else's concern."""


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger and message (plus the exception, at -vv)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and logging.getLogger().isEnabledFor(logging.DEBUG):
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``warning: message``; the traceback of an exception only at -vv."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{record.levelname.lower()}: {record.getMessage()}"
        if record.exc_info and logging.getLogger().isEnabledFor(logging.DEBUG):
            text += "\n" + self.formatException(record.exc_info)
        return text


def configure(verbosity: int, log_format: LogFormat) -> None:
    """Route every log record to stderr in ``log_format``; ``verbosity`` is the count of ``-v``."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "tiersync", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.tiersync = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if log_format is LogFormat.JSON else TextFormatter())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbosity >= 2 else logging.INFO if verbosity == 1 else logging.WARNING)
    library_level = logging.DEBUG if verbosity >= 2 else logging.WARNING if verbosity == 1 else logging.ERROR
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(library_level)
    logging.getLogger(SERVER).setLevel(library_level if verbosity else logging.CRITICAL)
