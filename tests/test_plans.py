"""Plan limits at their boundaries: sessions, lifetime, extension, capacity."""

from tests.accounts import sign_up
from tests.content import KIB
from tests.devices import (
    Device,
    NewDevice,
    SharedSession,
    expect_ok,
    join_token_of,
)
from tests.servers import RunningServer, StartServer, StartShared
from tests.sql import query, write

GIB = 1024**3


async def create(device: Device, lifetime_s: int | None = None) -> dict:
    body: dict = {"title": "limit"}
    if lifetime_s is not None:
        body["lifetime_s"] = lifetime_s
    return (await device.request("POST", "/api/sessions", json_body=body)).json()


async def extend(device: Device, session_id: str, lifetime_s: object) -> dict:
    body = {"lifetime_s": lifetime_s}
    path = f"/api/sessions/{session_id}/extend"
    return (await device.request("POST", path, json_body=body)).json()


async def test_plans_table_seeded(server: RunningServer) -> None:
    rows = await query(
        server,
        "SELECT name, max_sessions, capacity_bytes, max_lifetime_s FROM plans "
        "ORDER BY max_sessions",
    )

    assert rows == [
        ("guest", 3, 2 * GIB, 3600),
        ("free", 5, 10 * GIB, 86400),
        ("pro", 20, 100 * GIB, 7 * 86400),
    ]


async def test_guest_settings_override_row(start_server: StartServer) -> None:
    server = await start_server(guest_max_sessions=7, guest_capacity_bytes=KIB)

    rows = await query(
        server,
        "SELECT max_sessions, capacity_bytes FROM plans WHERE name = 'guest'",
    )

    assert rows == [(7, KIB)]


async def test_new_account_gets_free_plan(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "free")

    plan = (await sign_up(device, "zara"))["plan"]
    session = expect_ok(await create(device), "create")["session"]

    assert plan["name"] == "free"
    assert plan["max_sessions"] == 5
    assert plan["capacity_bytes"] == 10 * GIB
    assert plan["max_lifetime_s"] == 86400
    assert session["capacity_bytes"] == 10 * GIB
    assert session["expires_at"] - session["created_at"] == 86400 * 1000


async def test_session_count_at_boundary(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(guest_max_sessions=2)
    device = await new_device(server, "counter")
    await device.start_guest()

    at_limit = [await create(device) for _ in range(2)]
    over = await create(device)

    assert all(answer["ok"] for answer in at_limit)
    assert over["ok"] is False
    assert over["code"] == "session_limit"
    assert over["max_sessions"] == 2


async def test_session_count_frees_after_delete(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(guest_max_sessions=1)
    device = await new_device(server, "reuser")
    await device.start_guest()
    first = expect_ok(await create(device), "create")["session"]

    await device.request("DELETE", f"/api/sessions/{first['id']}")
    second = await create(device)

    assert second["ok"] is True


async def test_lifetime_at_boundary(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(guest_max_lifetime_s=600)
    device = await new_device(server, "lifetime")
    await device.start_guest()

    at_limit = await create(device, 600)
    over = await create(device, 601)

    assert at_limit["ok"] is True
    assert over["ok"] is False
    assert over["code"] == "invalid_lifetime"
    assert over["max_lifetime_s"] == 600


async def test_extension_at_boundary(start_shared: StartShared) -> None:
    _, shared = await start_shared(lifetime_s=120, guest_max_lifetime_s=600)
    session = shared.session

    over = await extend(shared.owner, shared.session_id, 601)
    at_limit = await extend(shared.owner, shared.session_id, 600)

    assert over["ok"] is False
    assert over["code"] == "invalid_lifetime"
    assert at_limit["ok"] is True
    extended = at_limit["session"]
    assert extended["expires_at"] == session["created_at"] + 600 * 1000


async def test_extension_cannot_shorten(start_shared: StartShared) -> None:
    _, shared = await start_shared(lifetime_s=300, guest_max_lifetime_s=600)

    answer = await extend(shared.owner, shared.session_id, 299)

    assert answer["ok"] is False
    assert answer["code"] == "invalid_lifetime"


async def test_extension_owner_only(shared: SharedSession) -> None:
    over_http = await extend(shared.member, shared.session_id, 600)
    over_socket = await shared.member.call(
        "session:extend", {"session_id": shared.session_id, "lifetime_s": 600}
    )

    assert over_http["code"] == "not_allowed"
    assert over_socket["code"] == "not_allowed"


async def test_extension_reaches_every_device(start_shared: StartShared) -> None:
    _, shared = await start_shared(lifetime_s=120, guest_max_lifetime_s=600)

    answer = await shared.owner.call(
        "session:extend", {"session_id": shared.session_id, "lifetime_s": 500}
    )

    expected = shared.session["created_at"] + 500 * 1000
    assert answer["ok"] is True
    assert answer["expires_at"] == expected
    for device in (shared.owner, shared.member):
        update = await device.log.wait_for(
            "session:updated", lambda event: event["expires_at"] == expected
        )
        assert update["session_id"] == shared.session_id


async def test_extension_rearms_timer(start_shared: StartShared) -> None:
    # With sweeps an hour apart only the session's timer can end it, so the
    # session:ended event shows the timer moved to the new deadline.
    _, shared = await start_shared(
        lifetime_s=1, min_lifetime_s=1, guest_max_lifetime_s=60, sweep_interval_s=3600
    )

    answer = await extend(shared.owner, shared.session_id, 2)
    ended = await shared.member.log.wait_for("session:ended", timeout_s=15)

    assert answer["ok"] is True
    assert ended["reason"] == "expired"


async def test_capacity_at_boundary(start_shared: StartShared) -> None:
    _, shared = await start_shared(guest_capacity_bytes=100 * KIB)

    over = await shared.member.start_uploads(
        shared.session_id, [{"name": "over.bin", "size": 100 * KIB + 1}]
    )
    at_limit = await shared.member.start_uploads(
        shared.session_id, [{"name": "exact.bin", "size": 100 * KIB}]
    )

    assert over["files"][0]["code"] == "capacity_exceeded"
    assert at_limit["files"][0].get("ok", True) is True


async def test_capacity_checked_again_at_finish(
    start_shared: StartShared,
) -> None:
    server, shared = await start_shared(guest_capacity_bytes=100 * KIB)
    entry = await shared.member.start_upload(shared.session_id, "f.bin", 10 * KIB)
    await shared.member.put_chunk(entry["id"], 0, b"x" * 10 * KIB)
    await write(
        server,
        "UPDATE sessions SET capacity_bytes = 1 WHERE id = :id",
        id=shared.session_id,
    )

    answer = await shared.member.finish(entry["id"])

    assert answer["code"] == "capacity_exceeded"
    assert server.stored_files() == []


async def test_reservation_released_on_cancel(shared: SharedSession) -> None:
    entry = await shared.member.start_upload(shared.session_id, "c.bin", 50 * KIB)

    await shared.member.call("upload:cancel", {"file_id": entry["id"]})

    update = await shared.owner.log.wait_for(
        "session:updated", lambda event: event["used_bytes"] == 0
    )
    assert update["used_bytes"] == 0


async def test_reservation_released_on_expiry(start_shared: StartShared) -> None:
    server, shared = await start_shared(lifetime_s=2, min_lifetime_s=1)
    await shared.member.start_upload(shared.session_id, "x.bin", 50 * KIB)

    await shared.member.log.wait_for("session:ended", timeout_s=15)

    rows = await query(
        server,
        "SELECT reserved_bytes FROM sessions WHERE id = :id",
        id=shared.session_id,
    )
    assert rows == [(0,)]


async def test_joined_device_sees_extension_on_join(
    start_shared: StartShared, new_device: NewDevice
) -> None:
    server, shared = await start_shared(lifetime_s=120, guest_max_lifetime_s=600)
    await extend(shared.owner, shared.session_id, 400)
    late = await new_device(server, "late")

    joined = await late.join(join_token_of(shared.session))

    assert joined["session"]["expires_at"] == shared.session["created_at"] + 400_000
