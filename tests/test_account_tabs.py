"""Other tabs of one browser keep working after this tab signs in or changes."""

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, expect

from tests.chromium import BROWSER_MARKS, UI_TIMEOUT_MS
from tests.servers import RunningServer
from tests.test_account_pages import (
    PASSWORD,
    expect_signed_in,
    sign_up_on_page,
    submit_credentials,
)
from tests.test_browser import complete_rows, write_file

pytestmark = BROWSER_MARKS


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """One browser profile, so every page shares the device cookie."""
    profile = await browser.new_context()
    yield profile
    await profile.close()


async def test_other_lobby_tab_follows_sign_up(
    server: RunningServer, context: BrowserContext
) -> None:
    signing_up = await context.new_page()
    await signing_up.goto(server.base_url + "/signup")
    other = await context.new_page()
    await other.goto(server.base_url + "/")
    await expect(other.get_by_test_id("start-guest")).to_be_visible()

    await submit_credentials(signing_up, "tabbed", PASSWORD)

    await expect_signed_in(other, "tabbed")
    await expect(other.locator("#connection-status")).to_be_hidden()


async def test_session_tab_uploads_after_password_change(
    server: RunningServer, context: BrowserContext, tmp_path: Path
) -> None:
    account = await context.new_page()
    await account.goto(server.base_url + "/")
    await sign_up_on_page(account, "uploader")
    await account.get_by_test_id("create-session").click()
    join_link = account.get_by_test_id("join-link")
    await expect(join_link).to_have_value(re.compile(r"/s/"), timeout=UI_TIMEOUT_MS)
    session = await context.new_page()
    await session.goto(await join_link.input_value())
    await expect(session.get_by_test_id("file-input")).to_be_enabled(
        timeout=UI_TIMEOUT_MS
    )

    await account.get_by_test_id("account-link").click()
    await account.get_by_test_id("current-password").fill(PASSWORD)
    await account.get_by_test_id("new-password").fill("a different password")
    await account.get_by_test_id("change-password").click()
    await account.wait_for_url(server.base_url + "/", timeout=UI_TIMEOUT_MS)
    await expect_signed_in(account, "uploader")
    notes = write_file(tmp_path / "after.txt", b"written after the change")
    await session.get_by_test_id("file-input").set_input_files([notes])

    await expect(complete_rows(session)).to_have_count(1, timeout=UI_TIMEOUT_MS)
    await expect(session.locator("#connection-status")).to_be_hidden()
