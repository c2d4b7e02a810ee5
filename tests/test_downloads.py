"""Downloads: only complete files, only for members, never rendered inline."""

from tests.content import MIB, Stamped
from tests.devices import SharedSession, expect_ok
from tests.rawhttp import RawConnection

HTML = b"<html><script>alert(1)</script></html>"


async def test_download_incomplete_rejected(shared: SharedSession) -> None:
    payload = Stamped(2 * MIB)
    file = await shared.member.start_upload(
        shared.session_id, "partial.bin", payload.size
    )
    await shared.member.send_range(file["id"], payload, "http", end=MIB)

    for device in (shared.owner, shared.member):
        reply = await device.download(file["id"])
        assert reply.status != 200, device
        assert reply.json().get("ok") is False
        assert payload.read(0, 1024) not in reply.body


async def test_download_ignores_declared_type(shared: SharedSession) -> None:
    declared = [{"name": "page.html", "size": len(HTML), "type": "text/html"}]
    ack = expect_ok(await shared.member.start_uploads(shared.session_id, declared), "")
    file_id = ack["files"][0]["id"]
    expect_ok(await shared.member.send_chunk(file_id, 0, HTML, "http"), "chunk")
    expect_ok(await shared.member.finish(file_id), "finish")

    reply = await shared.owner.download(file_id)

    assert reply.status == 200
    assert reply.headers.get("Content-Type") == "application/octet-stream"
    assert reply.headers.get("X-Content-Type-Options") == "nosniff"
    assert reply.headers.get("Content-Disposition", "").startswith("attachment")
    assert reply.body == HTML


async def test_download_without_cookie_rejected(shared: SharedSession) -> None:
    file = await shared.member.upload(shared.session_id, "private.txt", b"private")

    reply = await shared.member.request("GET", f"/api/files/{file['id']}", cookie=False)

    assert reply.status in (401, 403)
    assert b"private" not in reply.body


async def test_download_by_uploader(shared: SharedSession) -> None:
    payload = Stamped(3 * MIB + 7)
    file = await shared.member.upload(shared.session_id, "mine.bin", payload)

    status, digest = await shared.member.download_sha256(file["id"])

    assert status == 200
    assert digest == payload.sha256()


async def test_two_downloads_on_one_connection(shared: SharedSession) -> None:
    payload = Stamped(MIB + 3)
    file = await shared.member.upload(shared.session_id, "twice.bin", payload)
    connection = await RawConnection.open(shared.member.base_url)
    head = {
        "Host": "127.0.0.1",
        "Cookie": f"ds_device={shared.member.cookie}",
        "Connection": "keep-alive",
    }

    try:
        replies = []
        for _ in range(2):
            await connection.send_head("GET", f"/api/files/{file['id']}", head)
            replies.append(await connection.read_reply())
    finally:
        await connection.close()

    for reply in replies:
        assert reply.status == 200
        assert reply.body == payload.read(0, payload.size)
