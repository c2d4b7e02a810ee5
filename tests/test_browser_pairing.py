"""The four ways into a session, in Debian's Chromium with separate contexts."""

import re

import pytest
from playwright.async_api import Browser, Page, expect

from server.qr import qr_svg
from tests.chromium import BROWSER_MARKS, UI_TIMEOUT_MS
from tests.servers import RunningServer, StartServer
from tests.test_browser import (
    create_session,
    open_join_link,
    open_page,
)

pytestmark = BROWSER_MARKS

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"
    ),
}


async def open_lobby(browser: Browser, server: RunningServer) -> Page:
    """Open a lobby and wait for its pairing code; mark the page to spot reloads."""
    page = await open_page(browser, server.base_url + "/")
    code = page.get_by_test_id("pairing-code")
    await expect(code).to_have_text(
        re.compile(r"^\d{3} \d{4} \d{4}$"), timeout=UI_TIMEOUT_MS
    )
    await page.evaluate("window.notReloaded = true")
    return page


async def expect_moved_without_reload(page: Page, join_url: str, title: str) -> None:
    await expect(page).to_have_url(join_url, timeout=UI_TIMEOUT_MS)
    await expect(page.locator("h1")).to_have_text(title, timeout=UI_TIMEOUT_MS)
    assert await page.evaluate("window.notReloaded === true")


async def test_lobby_code_rotates_live(
    start_server: StartServer, browser: Browser
) -> None:
    server = await start_server(pairing_code_ttl_s=3)
    lobby = await open_lobby(browser, server)
    code = lobby.get_by_test_id("pairing-code")
    first = await code.inner_text()

    await expect(code).not_to_have_text(first, timeout=UI_TIMEOUT_MS)

    assert re.fullmatch(r"\d{3} \d{4} \d{4}", await code.inner_text())
    assert await lobby.evaluate("window.notReloaded === true")


async def test_session_qr_joins_phone(server: RunningServer, browser: Browser) -> None:
    owner = await open_page(browser, server.base_url + "/")
    join_url = await create_session(owner, "Phone join")
    qr_src = await owner.get_by_test_id("qr").get_attribute("src")
    assert qr_src is not None
    qr = await owner.request.get(server.base_url + qr_src)
    phone_context = await browser.new_context(**PHONE)
    phone = await phone_context.new_page()

    await phone.goto(join_url)

    assert await qr.text() == qr_svg(join_url)
    await expect(phone.locator("h1")).to_have_text("Phone join", timeout=UI_TIMEOUT_MS)
    await expect(phone.get_by_test_id("file-input")).to_be_enabled()
    rows = owner.get_by_test_id("member-row")
    await expect(rows).to_have_count(2, timeout=UI_TIMEOUT_MS)
    await expect(rows.filter(has_text="Chrome on Android")).to_have_attribute(
        "data-online", "true"
    )


async def test_lobby_qr_pulls_device(server: RunningServer, browser: Browser) -> None:
    target = await open_lobby(browser, server)
    link_url = await target.get_by_test_id("pairing-panel").get_attribute(
        "data-link-url"
    )
    assert link_url is not None
    qr = await target.request.get(server.base_url + "/api/pairing/qr.svg")
    owner = await open_page(browser, server.base_url + "/")
    join_url = await create_session(owner, "Scanned")

    await owner.goto(link_url)
    await owner.get_by_test_id("pick-session").filter(has_text="Scanned").click()

    assert await qr.text() == qr_svg(link_url)
    await expect(owner).to_have_url(join_url, timeout=UI_TIMEOUT_MS)
    await expect_moved_without_reload(target, join_url, "Scanned")
    await expect(owner.get_by_test_id("member-row")).to_have_count(
        2, timeout=UI_TIMEOUT_MS
    )


async def test_lobby_qr_creates_session(
    server: RunningServer, browser: Browser
) -> None:
    target = await open_lobby(browser, server)
    link_url = await target.get_by_test_id("pairing-panel").get_attribute(
        "data-link-url"
    )
    assert link_url is not None
    owner = await open_page(browser, server.base_url + "/")

    await owner.goto(link_url)
    await owner.get_by_test_id("start-guest").click()
    await owner.get_by_test_id("session-title-input").fill("Made on scan")
    await owner.get_by_test_id("pick-create").click()

    await expect(owner.locator("h1")).to_have_text(
        "Made on scan", timeout=UI_TIMEOUT_MS
    )
    await expect_moved_without_reload(target, owner.url, "Made on scan")


async def test_code_pulls_device(server: RunningServer, browser: Browser) -> None:
    target = await open_lobby(browser, server)
    code = await target.get_by_test_id("pairing-code").inner_text()
    owner = await open_page(browser, server.base_url + "/")
    join_url = await create_session(owner, "By code")

    await owner.get_by_test_id("code-input").fill(code.replace(" ", "-"))
    await owner.get_by_test_id("code-submit").click()

    await expect_moved_without_reload(target, join_url, "By code")
    await expect(owner.get_by_test_id("member-row")).to_have_count(
        2, timeout=UI_TIMEOUT_MS
    )


async def test_used_code_shows_error(server: RunningServer, browser: Browser) -> None:
    owner = await open_page(browser, server.base_url + "/")
    await create_session(owner, "Wrong code")

    await owner.get_by_test_id("code-input").fill("000 0000 0000")
    await owner.get_by_test_id("code-submit").click()

    error = owner.get_by_test_id("error-message")
    await expect(error).to_contain_text(
        "wrong, expired or already used", timeout=UI_TIMEOUT_MS
    )


async def test_replaced_link_refuses_newcomer(
    server: RunningServer, browser: Browser
) -> None:
    owner = await open_page(browser, server.base_url + "/")
    old_url = await create_session(owner, "Replace me")
    member = await open_join_link(browser, old_url)

    replace = owner.get_by_test_id("replace-link")
    await replace.click()
    await replace.click()

    join_link = owner.get_by_test_id("join-link")
    await expect(join_link).not_to_have_value(old_url, timeout=UI_TIMEOUT_MS)
    new_url = await join_link.input_value()
    await expect(owner).to_have_url(new_url)
    await expect(member).to_have_url(new_url, timeout=UI_TIMEOUT_MS)
    newcomer = await open_page(browser, old_url)
    assert "404" in await newcomer.title()
    late = await open_join_link(browser, new_url)
    await expect(late.locator("h1")).to_have_text("Replace me")


async def test_removed_member_is_told(server: RunningServer, browser: Browser) -> None:
    owner = await open_page(browser, server.base_url + "/")
    join_url = await create_session(owner, "Removal")
    member = await open_join_link(browser, join_url)
    remove = owner.get_by_test_id("remove-member")
    await expect(remove).to_have_count(1, timeout=UI_TIMEOUT_MS)

    await remove.click()
    await remove.click()

    ended = member.get_by_test_id("session-ended")
    await expect(ended).to_be_visible(timeout=UI_TIMEOUT_MS)
    await expect(ended).to_contain_text("removed this device")
    await expect(owner.get_by_test_id("member-row")).to_have_count(
        1, timeout=UI_TIMEOUT_MS
    )
    await member.reload()
    problem = member.get_by_test_id("session-problem")
    await expect(problem).to_contain_text("removed this device", timeout=UI_TIMEOUT_MS)


async def test_presence_with_two_tabs(server: RunningServer, browser: Browser) -> None:
    owner = await open_page(browser, server.base_url + "/")
    join_url = await create_session(owner, "Presence")
    first_tab = await open_join_link(browser, join_url)
    second_tab = await first_tab.context.new_page()
    await second_tab.goto(join_url)
    await expect(second_tab.get_by_test_id("file-input")).to_be_enabled(
        timeout=UI_TIMEOUT_MS
    )
    rows = owner.get_by_test_id("member-row")
    member_row = rows.filter(has_not_text="this device")

    await expect(rows).to_have_count(2, timeout=UI_TIMEOUT_MS)
    await expect(member_row).to_have_attribute("data-online", "true")
    await first_tab.close()
    await expect(member_row).to_have_attribute("data-online", "true")
    await second_tab.close()

    await expect(member_row).to_have_attribute(
        "data-online", "false", timeout=UI_TIMEOUT_MS
    )
    await expect(rows).to_have_count(2)


async def test_lobby_offline_when_pulled_moves_on_return(
    server: RunningServer, browser: Browser
) -> None:
    target = await open_lobby(browser, server)
    code = await target.get_by_test_id("pairing-code").inner_text()
    owner = await open_page(browser, server.base_url + "/")
    join_url = await create_session(owner, "While away")
    await target.context.set_offline(True)
    status = target.locator("#connection-status")
    await expect(status).to_be_visible(timeout=UI_TIMEOUT_MS)

    await owner.get_by_test_id("code-input").fill(code)
    await owner.get_by_test_id("code-submit").click()
    await expect(owner.get_by_test_id("member-row")).to_have_count(
        2, timeout=UI_TIMEOUT_MS
    )
    await target.context.set_offline(False)

    await expect_moved_without_reload(target, join_url, "While away")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "'1234567890' is not 11 digits 0-9. Type the 11 digits 0-9"),
        ("ru", "Код должен состоять из 11 цифр 0\u20139"),
    ],
)
async def test_malformed_code_explains_itself(
    server: RunningServer, browser: Browser, language: str, expected: str
) -> None:
    owner = await open_page(browser, server.base_url + "/")
    await create_session(owner, "Typo")
    await owner.get_by_test_id("lang-switch").select_option(language)

    await owner.get_by_test_id("code-input").fill("1234567890")
    await owner.get_by_test_id("code-submit").click()

    error = owner.get_by_test_id("error-message")
    await expect(error).to_contain_text(expected, timeout=UI_TIMEOUT_MS)


async def test_removal_offers_to_replace_link(
    server: RunningServer, browser: Browser
) -> None:
    owner = await open_page(browser, server.base_url + "/")
    old_url = await create_session(owner, "Keep out")
    await open_join_link(browser, old_url)
    remove = owner.get_by_test_id("remove-member")
    await expect(remove).to_have_count(1, timeout=UI_TIMEOUT_MS)
    await remove.click()
    await remove.click()
    notice = owner.get_by_test_id("removal-notice")
    await expect(notice).to_contain_text(
        "can still come back through this session's link from another browser",
        timeout=UI_TIMEOUT_MS,
    )

    await owner.get_by_test_id("replace-after-removal").click()

    join_link = owner.get_by_test_id("join-link")
    await expect(join_link).not_to_have_value(old_url, timeout=UI_TIMEOUT_MS)
    await expect(notice).to_be_hidden()
    returning = await open_page(browser, old_url)
    assert "404" in await returning.title()


async def test_same_labels_show_when_joined(
    server: RunningServer, browser: Browser
) -> None:
    owner = await open_page(browser, server.base_url + "/")
    join_url = await create_session(owner, "Three phones")
    for _ in range(2):
        phone_context = await browser.new_context(**PHONE)
        phone = await phone_context.new_page()
        await phone.goto(join_url)
        await expect(phone.get_by_test_id("file-input")).to_be_enabled(
            timeout=UI_TIMEOUT_MS
        )

    rows = owner.get_by_test_id("member-row")
    await expect(rows).to_have_count(3, timeout=UI_TIMEOUT_MS)

    phones = rows.filter(has_text="Chrome on Android")
    await expect(phones.filter(has_text=re.compile(r"joined \d"))).to_have_count(2)
    await expect(rows.filter(has_text="joined")).to_have_count(2)
