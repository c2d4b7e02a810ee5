"""Deleting sessions and files: who may, who is notified, and what remains."""

import pytest

from tests.content import MIB, Stamped
from tests.devices import Device, NewDevice, SharedSession, expect_ok, for_file
from tests.servers import RunningServer

# A deleted session's files go "at once"; the bound allows for deletion on a
# worker thread.
REMOVAL_BOUND_S = 2.0


async def delete_session_by_socket(shared: SharedSession) -> dict:
    answer: dict = await shared.owner.call(
        "session:delete", {"session_id": shared.session_id}
    )
    return answer


async def delete_session_by_http(shared: SharedSession) -> dict:
    path = f"/api/sessions/{shared.session_id}"
    return (await shared.owner.request("DELETE", path)).json()


@pytest.mark.parametrize("delete", [delete_session_by_socket, delete_session_by_http])
async def test_owner_deletes_session(
    shared: SharedSession, server: RunningServer, delete
) -> None:
    file = await shared.member.upload(shared.session_id, "a.bin", Stamped(MIB))
    partial = await shared.member.start_upload(shared.session_id, "b.bin", 2 * MIB)
    await shared.member.send_range(partial["id"], Stamped(2 * MIB), "http", end=MIB)

    expect_ok(await delete(shared), "delete session")

    for device in (shared.owner, shared.member):
        ended = await device.log.wait_for("session:ended")
        assert ended["session_id"] == shared.session_id
        assert ended["reason"] == "deleted"
    await server.wait_until_no_files(REMOVAL_BOUND_S)
    reply = await shared.member.download(file["id"])
    assert reply.status == 410
    assert reply.json().get("code") == "session_ended"
    put = await shared.member.put_chunk(partial["id"], MIB, b"x")
    assert put.status == 410
    join = await shared.member.call("session:join", {"join_token": shared.join_token})
    assert join.get("code") == "session_ended"
    assert (await shared.member.request("GET", f"/s/{shared.join_token}")).status == 410


async def test_member_cannot_delete_session(shared: SharedSession) -> None:
    path = f"/api/sessions/{shared.session_id}"

    reply = await shared.member.request("DELETE", path)
    answer = await shared.member.call(
        "session:delete", {"session_id": shared.session_id}
    )

    assert reply.status == 403
    assert reply.json().get("code") == "not_allowed"
    assert answer.get("code") == "not_allowed"
    assert shared.owner.log.all("session:ended") == []


async def test_deleted_session_not_listed(shared: SharedSession) -> None:
    expect_ok(await delete_session_by_socket(shared), "delete session")

    reply = await shared.owner.request("GET", "/api/sessions")

    ids = [session["id"] for session in expect_ok(reply.json(), "list")["sessions"]]
    assert shared.session_id not in ids


async def delete_file_by_socket(device: Device, file_id: str) -> dict:
    answer: dict = await device.call("file:delete", {"file_id": file_id})
    return answer


async def delete_file_by_http(device: Device, file_id: str) -> dict:
    return (await device.request("DELETE", f"/api/files/{file_id}")).json()


@pytest.mark.parametrize("delete", [delete_file_by_socket, delete_file_by_http])
@pytest.mark.parametrize("role", ["owner", "uploader"])
async def test_file_deleted_by_role(
    shared: SharedSession, server: RunningServer, delete, role: str
) -> None:
    keep = await shared.member.upload(shared.session_id, "keep.bin", Stamped(MIB))
    file = await shared.member.upload(shared.session_id, "gone.bin", Stamped(MIB))
    deleter = shared.owner if role == "owner" else shared.member

    expect_ok(await delete(deleter, file["id"]), "delete file")

    for device in (shared.owner, shared.member):
        deleted = await device.log.wait_for("file:deleted", for_file(file["id"]))
        assert deleted["session_id"] == shared.session_id
        assert deleted["reason"] == "deleted"
    assert (await shared.owner.download(file["id"])).status in (404, 410)
    assert (await shared.owner.download(keep["id"])).status == 200
    assert len(server.stored_files()) == 1


async def test_other_member_cannot_delete_file(
    shared: SharedSession, server: RunningServer, new_device: NewDevice
) -> None:
    other = await new_device(server, "other")
    await other.join(shared.join_token)
    file = await shared.member.upload(shared.session_id, "theirs.bin", b"theirs")

    by_socket = await other.call("file:delete", {"file_id": file["id"]})
    by_http = await other.request("DELETE", f"/api/files/{file['id']}")

    assert by_socket.get("code") == "not_allowed"
    assert by_http.status == 403
    assert by_http.json().get("code") == "not_allowed"
    assert (await other.download(file["id"])).status == 200
