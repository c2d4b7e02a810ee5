"""A check that nothing logged an error while a test ran.

The servers run in the test's own process, so their records, and those of
aiohttp and asyncio underneath them, reach the root logger. An error there
is a bug even when every response looked right: aiohttp logs an unhandled
exception and closes the connection, and the client may never notice.
"""

import logging

import pytest

# A test that provokes errors on purpose names the loggers it expects them
# from: @pytest.mark.server_errors("server.db").
ALLOW_MARK = "server_errors"


class ErrorRecords(logging.Handler):
    """Keep every record at ERROR or above."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def unexpected(self, item: pytest.Item) -> str:
        """Describe the records that `item` did not allow, or return ''."""
        marker = item.get_closest_marker(ALLOW_MARK)
        allowed = tuple(marker.args) if marker is not None else ()
        return "\n".join(
            self.format(record)
            for record in self.records
            if not any(_under(record.name, name) for name in allowed)
        )


def _under(logger: str, name: str) -> bool:
    return logger == name or logger.startswith(f"{name}.")
