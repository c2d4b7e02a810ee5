"""The account pages in Debian's Chromium: sign-up, sign-in, upgrade, devices."""

import re

from playwright.async_api import Browser, Page, expect

from tests.chromium import BROWSER_MARKS, UI_TIMEOUT_MS
from tests.servers import RunningServer, StartServer

pytestmark = BROWSER_MARKS

PASSWORD = "a long enough password"


async def open_page(browser: Browser, url: str) -> Page:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(url)
    return page


async def submit_credentials(page: Page, username: str, password: str) -> None:
    await page.get_by_test_id("auth-username").fill(username)
    await page.get_by_test_id("auth-password").fill(password)
    await page.get_by_test_id("auth-submit").click()


async def expect_signed_in(page: Page, username: str) -> None:
    await expect(page.locator(".account-line")).to_contain_text(
        username, timeout=UI_TIMEOUT_MS
    )
    await expect(page.get_by_test_id("account-link")).to_be_visible()


async def sign_up_on_page(page: Page, username: str) -> None:
    await page.get_by_test_id("sign-up-link").click()
    await submit_credentials(page, username, PASSWORD)
    await expect_signed_in(page, username)


async def test_sign_up_then_in_again(server: RunningServer, browser: Browser) -> None:
    page = await open_page(browser, server.base_url + "/")
    await sign_up_on_page(page, "pageuser")

    await page.get_by_test_id("account-link").click()
    await page.get_by_test_id("sign-out").click()
    await expect(page.get_by_test_id("sign-in-link")).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    await page.get_by_test_id("sign-in-link").click()
    await submit_credentials(page, "pageuser", PASSWORD)

    await expect_signed_in(page, "pageuser")


async def test_wrong_password_shows_error(
    server: RunningServer, browser: Browser
) -> None:
    page = await open_page(browser, server.base_url + "/signin")

    await submit_credentials(page, "nobody", "not the password")

    error = page.get_by_test_id("error-message")
    await expect(error).to_contain_text("wrong", timeout=UI_TIMEOUT_MS)
    assert page.url.endswith("/signin")


async def test_guest_upgrade_keeps_session(
    server: RunningServer, browser: Browser
) -> None:
    page = await open_page(browser, server.base_url + "/")
    await page.get_by_test_id("start-guest").click()
    await page.get_by_test_id("session-title-input").fill("Guest work")
    await page.get_by_test_id("create-session").click()
    await expect(page.get_by_test_id("join-link")).to_have_value(
        re.compile(r"/s/"), timeout=UI_TIMEOUT_MS
    )

    await page.get_by_test_id("sign-up-link").click()
    await submit_credentials(page, "upgraded", PASSWORD)

    await expect_signed_in(page, "upgraded")
    await expect(page.get_by_test_id("session-list")).to_contain_text("Guest work")


async def test_rename_device_on_account_page(
    server: RunningServer, browser: Browser
) -> None:
    page = await open_page(browser, server.base_url + "/")
    await sign_up_on_page(page, "renamer")
    await page.get_by_test_id("account-link").click()

    label = page.get_by_test_id("device-label-input")
    await expect(label).to_have_count(1, timeout=UI_TIMEOUT_MS)
    await label.fill("Work laptop")
    await label.press("Enter")

    await expect(page.locator("#device-label")).to_contain_text(
        "Work laptop", timeout=UI_TIMEOUT_MS
    )


async def test_password_change_signs_out_other_page(
    server: RunningServer, browser: Browser
) -> None:
    first = await open_page(browser, server.base_url + "/")
    await sign_up_on_page(first, "twopages")
    second = await open_page(browser, server.base_url + "/signin")
    await submit_credentials(second, "twopages", PASSWORD)
    await expect_signed_in(second, "twopages")

    await first.get_by_test_id("account-link").click()
    await first.get_by_test_id("current-password").fill(PASSWORD)
    await first.get_by_test_id("new-password").fill("a different password")
    await first.get_by_test_id("change-password").click()

    await expect(second.get_by_test_id("sign-in-link")).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    await expect_signed_in(first, "twopages")


async def test_sign_in_page_in_russian(server: RunningServer, browser: Browser) -> None:
    page = await open_page(browser, server.base_url + "/signin")

    await page.get_by_test_id("lang-switch").select_option("ru")

    await expect(page.locator("h1")).to_have_text("Вход")
    await expect(page.get_by_test_id("auth-submit")).to_have_text("Войти")


async def test_no_guest_button_when_disabled(
    start_server: StartServer, browser: Browser
) -> None:
    server = await start_server(guest_accounts=False, signup_open=False)
    page = await open_page(browser, server.base_url + "/")

    await expect(page.get_by_test_id("sign-in-link")).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    await expect(page.get_by_test_id("start-guest")).to_have_count(0)
    await expect(page.get_by_test_id("sign-up-link")).to_have_count(0)


async def test_extension_reaches_member_page(
    start_server: StartServer, browser: Browser
) -> None:
    server = await start_server(guest_max_lifetime_s=7200)
    owner = await open_page(browser, server.base_url + "/")
    await owner.get_by_test_id("start-guest").click()
    await owner.get_by_test_id("session-lifetime-input").fill("2")
    await owner.get_by_test_id("create-session").click()
    join_link = owner.get_by_test_id("join-link")
    await expect(join_link).to_have_value(re.compile(r"/s/"), timeout=UI_TIMEOUT_MS)
    member = await open_page(browser, await join_link.input_value())
    member_countdown = member.get_by_test_id("countdown")
    await expect(member_countdown).to_have_text(
        re.compile(r"^[12]:\d\d$"), timeout=UI_TIMEOUT_MS
    )
    await expect(member.get_by_test_id("extend-session")).to_be_hidden()

    await owner.get_by_test_id("extend-session").click()

    await expect(member_countdown).to_have_text(
        re.compile(r"^[12]:\d\d:\d\d$"), timeout=UI_TIMEOUT_MS
    )
    await expect(owner.get_by_test_id("extend-session")).to_be_hidden()
