"""Account pages show only the notices that still apply, and follow guest expiry."""

from playwright.async_api import Browser, expect

from tests.accounts import sign_up
from tests.chromium import BROWSER_MARKS, UI_TIMEOUT_MS
from tests.devices import NewDevice
from tests.servers import RunningServer, StartServer
from tests.test_account_pages import PASSWORD, open_page, submit_credentials

pytestmark = BROWSER_MARKS


async def test_blocked_submit_clears_old_error(
    server: RunningServer, browser: Browser, new_device: NewDevice
) -> None:
    await sign_up(await new_device(server, "first", connect=False), "taken")
    page = await open_page(browser, server.base_url + "/signup")
    await submit_credentials(page, "taken", PASSWORD)
    error = page.get_by_test_id("error-message")
    await expect(error).to_contain_text("taken", timeout=UI_TIMEOUT_MS)

    await submit_credentials(page, "taken", "")

    await expect(error).to_have_count(0)


async def test_repeated_limits_show_one_notice(
    start_server: StartServer, browser: Browser
) -> None:
    server = await start_server(signin_free_failures=1)
    page = await open_page(browser, server.base_url + "/signin")
    error = page.get_by_test_id("error-message")
    await submit_credentials(page, "nobody", "not the password")
    await expect(error).to_contain_text("wrong", timeout=UI_TIMEOUT_MS)

    for _ in range(3):
        await page.get_by_test_id("auth-submit").click()
        await expect(page.get_by_test_id("auth-submit")).to_be_enabled()

    await expect(error).to_have_count(1)


async def test_username_hint_names_the_first_character(
    server: RunningServer, browser: Browser
) -> None:
    page = await open_page(browser, server.base_url + "/signup")

    await expect(page.locator("#auth-username-hint")).to_contain_text(
        "starting with a letter or digit"
    )


async def test_expired_guest_page_starts_over(
    start_server: StartServer, browser: Browser
) -> None:
    server = await start_server(guest_account_ttl_s=8)
    starting = await open_page(browser, server.base_url + "/")
    await starting.get_by_test_id("start-guest").click()
    await expect(starting.get_by_test_id("create-session")).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    page = await starting.context.new_page()
    await page.goto(server.base_url + "/")
    await expect(page.get_by_test_id("account-link")).to_be_visible()

    await expect(page.get_by_test_id("start-guest")).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    await expect(page.get_by_test_id("account-link")).to_have_count(0)
