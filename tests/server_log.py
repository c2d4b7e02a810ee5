"""A check that nothing logged an error while a test ran.

The servers run in the test's own process, so their records, and those of
aiohttp and asyncio underneath them, reach the root logger. An error there
is a bug even when every response looked right: aiohttp logs an unhandled
exception and closes the connection, and the client may never notice.

A `dropspace serve` child process writes its records to a log file
instead, which `unexpected_in_log` reads with the same meaning.
"""

import logging
import re

import pytest

# A test that provokes errors on purpose names the loggers it expects them
# from: @pytest.mark.server_errors("server.db").
ALLOW_MARK = "server_errors"

ERROR_LEVELS = frozenset({"ERROR", "CRITICAL"})
TRACEBACK = "Traceback (most recent call last):"
# The start of a record in the format that `dropspace serve` logs with:
# "%(asctime)s %(levelname)s %(name)s: %(message)s".
_RECORD_START = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) (?P<logger>\S+?): "
)


class ErrorRecords(logging.Handler):
    """Keep every record at ERROR or above."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def unexpected(self, item: pytest.Item) -> str:
        """Describe the records that `item` did not allow, or return ''."""
        allowed = allowed_loggers(item)
        return "\n".join(
            self.format(record)
            for record in self.records
            if not any(_under(record.name, name) for name in allowed)
        )


def allowed_loggers(item: pytest.Item) -> tuple[str, ...]:
    """Return the loggers that `item` expects errors from."""
    marker = item.get_closest_marker(ALLOW_MARK)
    return tuple(marker.args) if marker is not None else ()


def unexpected_in_log(text: str, allowed: tuple[str, ...]) -> str:
    """Return a log's ERROR records and tracebacks, except those of `allowed`.

    A traceback belongs to the record above it, so one under an allowed
    error is allowed too. Any other traceback counts, such as one that
    Python printed to stderr for an uncaught exception.
    """
    return "\n".join(
        entry for entry in _entries(text) if not _is_allowed(entry, allowed)
    )


def _entries(text: str) -> list[str]:
    """Split a log into records, each with the lines printed under it."""
    entries: list[list[str]] = [[]]
    for line in text.splitlines():
        if _RECORD_START.match(line):
            entries.append([])
        entries[-1].append(line)
    return ["\n".join(lines) for lines in entries if lines]


def _is_allowed(entry: str, allowed: tuple[str, ...]) -> bool:
    start = _RECORD_START.match(entry)
    if start is None or start["level"] not in ERROR_LEVELS:
        return TRACEBACK not in entry
    return any(_under(start["logger"], name) for name in allowed)


def _under(logger: str, name: str) -> bool:
    return logger == name or logger.startswith(f"{name}.")
