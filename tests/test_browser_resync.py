"""The browser client re-syncs after its server's Redis comes back."""

import asyncio

import pytest
from playwright.async_api import Browser, expect

from tests.chromium import BROWSER_MARKS, UI_TIMEOUT_MS
from tests.content import Stamped
from tests.devices import Device, NewDevice, expect_ok, join_token_of
from tests.pairing import redeem
from tests.servers import StartProduction, start_second
from tests.test_browser import complete_rows, open_join_link
from tests.test_browser_pairing import expect_moved_without_reload, open_lobby
from tests.test_faults import LISTENER_OUTAGE_S, RESYNC_WAIT_S, OwnRedis, own_redis
from tests.test_pairing import owner_with_session

__all__ = ["own_redis"]

pytestmark = BROWSER_MARKS


# python-socketio logs each failed publish and receive while Redis is down.
@pytest.mark.server_errors("socketio.server")
async def test_page_resyncs_after_redis_restart(
    start_production: StartProduction,
    new_device: NewDevice,
    own_redis: OwnRedis,
    browser: Browser,
) -> None:
    first = await start_production(redis_url=own_redis.url)
    second = await start_second(start_production, first, redis_url=own_redis.url)
    owner = await new_device(first, "owner")
    await owner.start_guest()
    session = await owner.create_session("Across a restart")
    join_token = session["join_url"].rsplit("/", 1)[-1]
    await owner.join(join_token)
    page = await open_join_link(browser, f"{second.base_url}/s/{join_token}")

    await own_redis.stop()
    await owner.upload(session["id"], "missed.txt", Stamped(100))
    await own_redis.start()

    # The page's socket never dropped; only the server's signal re-syncs it.
    await expect(complete_rows(page)).to_have_count(1, timeout=UI_TIMEOUT_MS)


# python-socketio logs each failed publish and receive while Redis is down.
@pytest.mark.server_errors("socketio.server")
async def test_lobby_pulled_during_outage_moves(
    start_production: StartProduction,
    new_device: NewDevice,
    own_redis: OwnRedis,
    browser: Browser,
) -> None:
    first = await start_production(redis_url=own_redis.url)
    second = await start_second(start_production, first, redis_url=own_redis.url)
    lobby = await open_lobby(browser, first)
    code = await lobby.get_by_test_id("pairing-code").inner_text()
    owner, session = await owner_with_session(new_device, second)

    await own_redis.stop()
    await asyncio.sleep(LISTENER_OUTAGE_S)
    await own_redis.start()
    # The pull succeeds once the second server reaches Redis again, while the
    # first server's listeners may still be away, so its event may be lost.
    await redeem_when_redis_answers(owner, session["id"], code)

    # The lobby's socket never dropped; only the server's resync moves it.
    moved_to = f"{first.base_url}/s/{join_token_of(session)}"
    await expect_moved_without_reload(lobby, moved_to, session["title"])


async def redeem_when_redis_answers(owner: Device, session_id: str, code: str) -> None:
    """Redeem the code, retrying while the server returns service_unavailable."""
    for _ in range(int(RESYNC_WAIT_S / 0.1)):
        answer = await redeem(owner, session_id, code)
        if answer.get("code") != "service_unavailable":
            expect_ok(answer, "redeem")
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"redeem still unavailable after {RESYNC_WAIT_S} s")
