"""Settings out of range stop the server at start with a message naming them."""

import asyncio
import os
import sys
from pathlib import Path

import pytest

from server.settings import Settings
from tests.servers import free_port

DROPSPACE = Path(sys.executable).parent / "dropspace"
# A bound for the refusal, not a measurement: a server that starts never exits.
START_BOUND_S = 30.0


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DROPSPACE_PAIRING_CODE_TTL_S", "0"),
        ("DROPSPACE_PAIRING_CODE_TTL_S", "-5"),
        ("DROPSPACE_PAIRING_CODE_TTL_S", "301"),
        ("DROPSPACE_CODE_FAILURES_PER_ACCOUNT", "0"),
        ("DROPSPACE_CODE_FAILURES_PER_ADDRESS", "-1"),
        ("DROPSPACE_CODE_FAILURES_PER_SERVICE", "0"),
        ("DROPSPACE_DEVICE_CREATIONS_PER_HOUR", "0"),
        ("DROPSPACE_PAIRING_OFFERS_PER_HOUR", "0"),
        ("DROPSPACE_SIGNUPS_PER_HOUR", "0"),
        ("DROPSPACE_GUEST_STARTS_PER_HOUR", "0"),
        ("DROPSPACE_SESSION_CREATIONS_PER_HOUR", "0"),
        ("DROPSPACE_SIGNIN_FREE_FAILURES", "-1"),
        ("DROPSPACE_SIGNIN_MAX_DELAY_S", "0"),
        ("DROPSPACE_PASSWORD_HASH_CONCURRENCY", "0"),
        ("DROPSPACE_TRUSTED_PROXIES", "127.0.0.1, caddy"),
        ("DROPSPACE_TRUSTED_PROXIES", "10.0.0.0/33"),
    ],
)
def test_out_of_range_is_refused(variable: str, value: str) -> None:
    with pytest.raises(ValueError, match=variable) as rejected:
        Settings.from_env({variable: value})

    assert "set it to" in str(rejected.value) or "write entries" in str(rejected.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DROPSPACE_PAIRING_CODE_TTL_S", "1"),
        ("DROPSPACE_PAIRING_CODE_TTL_S", "300"),
        ("DROPSPACE_CODE_FAILURES_PER_ADDRESS", "1"),
        ("DROPSPACE_SIGNIN_FREE_FAILURES", "0"),
        ("DROPSPACE_PASSWORD_HASH_CONCURRENCY", "1"),
        ("DROPSPACE_TRUSTED_PROXIES", "127.0.0.1, 172.30.0.0/24, fd00::/8"),
    ],
)
def test_bounds_are_accepted(variable: str, value: str) -> None:
    Settings.from_env({variable: value})


async def test_serve_stops_with_the_message(tmp_path: Path) -> None:
    environ = dict(
        os.environ,
        DROPSPACE_DATA_DIR=str(tmp_path),
        # Should the setting be accepted, the server listens only on loopback.
        DROPSPACE_HOST="127.0.0.1",
        DROPSPACE_PORT=str(free_port()),
        DROPSPACE_PAIRING_CODE_TTL_S="0",
    )
    process = await asyncio.create_subprocess_exec(
        str(DROPSPACE),
        "serve",
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), START_BOUND_S)
    except TimeoutError:
        # It started serving: the setting was accepted.
        process.kill()
        await process.wait()
        raise AssertionError(
            "dropspace serve accepted a pairing code TTL of 0"
        ) from None

    assert process.returncode == 2
    assert "DROPSPACE_PAIRING_CODE_TTL_S=0 is out of range" in stderr.decode()
