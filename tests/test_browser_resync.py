"""The browser client re-syncs after its server's Redis comes back."""

import pytest
from playwright.async_api import Browser, expect

from tests.chromium import BROWSER_MARKS, UI_TIMEOUT_MS
from tests.content import Stamped
from tests.devices import NewDevice
from tests.servers import StartProduction, free_port
from tests.test_browser import complete_rows, open_join_link
from tests.test_faults import OwnRedis, own_redis

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
    port = free_port()
    second = await start_production(
        redis_url=own_redis.url,
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        data_dir=first.data_dir,
    )
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
