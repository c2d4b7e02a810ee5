"""The browser client in Debian's Chromium: two devices share a session."""

import asyncio
import hashlib
import os
import re
from pathlib import Path

from playwright.async_api import Browser, Locator, Page, Route, expect

from tests.chromium import BROWSER_MARKS, UI_TIMEOUT_MS
from tests.devices import COOKIE_NAME
from tests.rawhttp import RawConnection
from tests.serve_process import StartServeProcess
from tests.servers import RunningServer, StartServer
from tests.sql import query
from tests.write_claims import open_chunk_put, wait_for_claim

pytestmark = BROWSER_MARKS


async def open_page(browser: Browser, url: str) -> Page:
    context = await browser.new_context(accept_downloads=True)
    page = await context.new_page()
    await page.goto(url)
    return page


async def create_session(page: Page, title: str) -> str:
    """Start as a guest, create a session and return its join link."""
    await page.get_by_test_id("start-guest").click()
    await page.get_by_test_id("session-title-input").fill(title)
    await page.get_by_test_id("create-session").click()
    join_link = page.get_by_test_id("join-link")
    await expect(join_link).to_have_value(re.compile(r"/s/"), timeout=UI_TIMEOUT_MS)
    return await join_link.input_value()


async def open_join_link(browser: Browser, join_url: str) -> Page:
    page = await open_page(browser, join_url)
    await expect(page.get_by_test_id("file-input")).to_be_enabled(timeout=UI_TIMEOUT_MS)
    return page


def complete_rows(page: Page) -> Locator:
    return page.locator('[data-testid="file-row"][data-state="complete"]')


def write_file(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


async def test_member_upload_reaches_owner(
    server: RunningServer, browser: Browser, tmp_path: Path
) -> None:
    notes = write_file(tmp_path / "notes.txt", b"Meeting notes\n")
    photo_bytes = os.urandom(3 * 1024 * 1024 + 17)
    photo = write_file(tmp_path / "photo.bin", photo_bytes)

    owner = await open_page(browser, server.base_url + "/")
    join_url = await create_session(owner, "Browser test")
    assert owner.url == join_url
    await expect(owner.get_by_test_id("qr")).to_be_visible()
    member = await open_join_link(browser, join_url)
    await expect(member.locator("h1")).to_have_text("Browser test")
    await member.get_by_test_id("file-input").set_input_files([notes, photo])

    await expect(complete_rows(owner)).to_have_count(2, timeout=UI_TIMEOUT_MS)
    await expect(complete_rows(member)).to_have_count(2, timeout=UI_TIMEOUT_MS)
    await expect(owner.get_by_test_id("upload-progress")).to_have_count(0)
    photo_row = owner.get_by_test_id("file-row").filter(has_text="photo.bin")
    async with owner.expect_download() as download_info:
        await photo_row.get_by_test_id("download-link").click()
    download = await download_info.value
    assert download.suggested_filename == "photo.bin"
    downloaded = Path(await download.path())
    assert await asyncio.to_thread(downloaded.read_bytes) == photo_bytes


async def test_member_sees_owner_delete_session(
    server: RunningServer, browser: Browser
) -> None:
    owner = await open_page(browser, server.base_url + "/")
    join_url = await create_session(owner, "Short-lived")
    member = await open_join_link(browser, join_url)
    await expect(member.get_by_test_id("delete-session")).to_be_hidden()

    delete = owner.get_by_test_id("delete-session")
    await delete.click()
    await delete.click()

    for page in (owner, member):
        ended = page.get_by_test_id("session-ended")
        await expect(ended).to_be_visible(timeout=UI_TIMEOUT_MS)
        await expect(ended).to_contain_text("deleted")
        await expect(page.get_by_test_id("drop-zone")).to_be_hidden()


async def test_empty_file_completes(
    server: RunningServer, browser: Browser, tmp_path: Path
) -> None:
    empty = write_file(tmp_path / "empty.txt", b"")
    owner = await open_page(browser, server.base_url + "/")
    await create_session(owner, "Empty file")

    await owner.get_by_test_id("file-input").set_input_files([empty])

    row = complete_rows(owner)
    await expect(row).to_have_count(1, timeout=UI_TIMEOUT_MS)
    await expect(row).to_contain_text("0 B")
    assert "NaN" not in await owner.get_by_test_id("file-list").inner_text()


async def test_capacity_error_is_translated(
    start_server: StartServer, browser: Browser, tmp_path: Path
) -> None:
    server = await start_server(guest_capacity_bytes=1000)
    large = write_file(tmp_path / "large.bin", b"x" * 2000)
    owner = await open_page(browser, server.base_url + "/")
    await create_session(owner, "Tiny")
    await owner.get_by_test_id("lang-switch").select_option("ru")

    await owner.get_by_test_id("file-input").set_input_files([large])

    error = owner.get_by_test_id("error-message")
    await expect(error).to_be_visible(timeout=UI_TIMEOUT_MS)
    await expect(error).to_contain_text("large.bin")
    await expect(error).to_contain_text("не хватает места")
    await expect(owner.get_by_test_id("file-row")).to_have_count(0)


async def test_file_delete_needs_second_click(
    server: RunningServer, browser: Browser, tmp_path: Path
) -> None:
    first = write_file(tmp_path / "first.txt", b"first")
    second = write_file(tmp_path / "second.txt", b"second")
    owner = await open_page(browser, server.base_url + "/")
    join_url = await create_session(owner, "Deletes")
    member = await open_join_link(browser, join_url)
    await owner.get_by_test_id("file-input").set_input_files([first, second])
    await expect(complete_rows(member)).to_have_count(2, timeout=UI_TIMEOUT_MS)
    delete = owner.get_by_test_id("delete-file").first

    await delete.click()
    await owner.wait_for_timeout(300)
    rows_after_one_click = await complete_rows(member).count()
    await delete.click()

    assert rows_after_one_click == 2
    await expect(complete_rows(member)).to_have_count(1, timeout=UI_TIMEOUT_MS)
    await expect(complete_rows(owner)).to_have_count(1, timeout=UI_TIMEOUT_MS)


async def test_lifetime_minimum_from_settings(
    start_server: StartServer, browser: Browser
) -> None:
    server = await start_server(min_lifetime_s=300)
    page = await open_page(browser, server.base_url + "/")

    await page.get_by_test_id("start-guest").click()
    lifetime = page.get_by_test_id("session-lifetime-input")

    await expect(lifetime).to_have_attribute("min", "5", timeout=UI_TIMEOUT_MS)


async def drag_paths_onto(page: Page, paths: list[Path]) -> None:
    """Drag files or folders from the disk onto the page, as a user would.

    Chromium's own drag pipeline builds the DataTransfer, so a folder
    arrives as a directory entry, which a script cannot fake.
    """
    devtools = await page.context.new_cdp_session(page)
    data = {
        "items": [],
        "files": [str(path) for path in paths],
        "dragOperationsMask": 1,
    }
    box = await page.get_by_test_id("drop-zone").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for kind in ("dragEnter", "dragOver", "drop"):
        event = {"type": kind, "x": x, "y": y, "data": data}
        await devtools.send("Input.dispatchDragEvent", event)
    await devtools.detach()


async def test_dragged_folder_keeps_paths(
    server: RunningServer, browser: Browser, tmp_path: Path
) -> None:
    folder = tmp_path / "holiday"
    (folder / "day 1").mkdir(parents=True)
    write_file(folder / "plan.txt", b"Beach, then museum\n")
    write_file(folder / "day 1" / "photo.bin", os.urandom(70_000))
    owner = await open_page(browser, server.base_url + "/")
    join_url = await create_session(owner, "Folder drop")
    member = await open_join_link(browser, join_url)

    await drag_paths_onto(member, [folder])

    await expect(complete_rows(owner)).to_have_count(2, timeout=UI_TIMEOUT_MS)
    names = await complete_rows(owner).locator(".file-name").all_text_contents()
    assert sorted(names) == ["holiday/day 1/photo.bin", "holiday/plan.txt"]


async def test_generated_names_translated(
    server: RunningServer, browser: Browser
) -> None:
    page = await open_page(browser, server.base_url + "/")
    await page.get_by_test_id("lang-switch").select_option("ru")
    await page.get_by_test_id("start-guest").click()

    # Headless Chromium on Linux gets the label "Chrome on Linux".
    footer = page.locator("#device-label")
    await expect(footer).to_have_text("Это устройство: Chrome на Linux")
    await expect(page.get_by_text("Тариф «Гость»")).to_be_visible()


async def test_upload_waits_out_busy_claim(
    start_serve_process: StartServeProcess, browser: Browser, tmp_path: Path
) -> None:
    first = await start_serve_process()
    second = await start_serve_process()
    content = os.urandom(2 * 1024 * 1024)
    path = write_file(tmp_path / "busy.bin", content)
    page = await open_page(browser, first.base_url + "/")
    await create_session(page, "Busy")
    cookies = await page.context.cookies()
    cookie = next(entry["value"] for entry in cookies if entry["name"] == COOKIE_NAME)
    held_puts: list[RawConnection] = []

    async def claim_on_second_first(route: Route) -> None:
        # Before the browser's first PUT, the same device starts the same
        # chunk on the other server, which claims the file.
        if route.request.method == "PUT" and not held_puts:
            file_id = route.request.url.split("/api/files/")[1].split("?")[0]
            connection = await open_chunk_put(second, cookie, file_id, len(content))
            held_puts.append(connection)
            await connection.send(content[: len(content) // 2])
            await wait_for_claim(second, file_id)
        await route.continue_()

    await page.route(lambda url: "/api/files/" in url, claim_on_second_first)
    await page.get_by_test_id("file-input").set_input_files([path])

    row = page.get_by_test_id("file-row")
    await expect(row).to_have_attribute("data-status", "waiting", timeout=UI_TIMEOUT_MS)
    held_puts[0].cut()
    await expect(complete_rows(page)).to_have_count(1, timeout=UI_TIMEOUT_MS)
    digests = await query(first, "SELECT sha256 FROM files")
    assert [row[0] for row in digests] == [hashlib.sha256(content).hexdigest()]
