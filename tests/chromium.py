"""Debian's Chromium for the browser tests and the browser benchmarks."""

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")

# Flags for a quiet, repeatable browser on a machine without a screen:
# nothing fetched in the background, no QUIC, no GPU process.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Milliseconds a page may take to show what the server sent; uploads of a
# few MiB over loopback finish well inside it.
UI_TIMEOUT_MS = 20_000

# The marks of every test module that drives the browser.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is missing; `make browser` installs it",
    ),
]
