"""Presence after a server process dies without closing its sockets.

Device A sits on an in-process server, device B on a `dropspace serve`
child process. Killing the child with SIGKILL leaves B's presence fields in
Redis, and the surviving processes must notice that the child's heartbeat
expired.
"""

import asyncio
from typing import Any

from redis.asyncio import Redis

from server import keys
from server.shared_presence import SharedPresence
from tests.devices import Device, NewDevice, share_session
from tests.pairing import member_list, online_of
from tests.production import REDIS_URL
from tests.serve_process import StartServeProcess
from tests.servers import StartProduction, start_second

HEARTBEAT_TTL_S = 3.0
# Generous: the heartbeat expires after HEARTBEAT_TTL_S and the next sweep
# runs within a third of it, but the machine may be busy.
OFFLINE_WAIT_S = 60.0


def member_id(members: list[dict[str, Any]]) -> str:
    device_id: str = next(m["device_id"] for m in members if not m["owner"])
    return device_id


async def test_crashed_process_devices_go_offline(
    start_production: StartProduction,
    start_serve_process: StartServeProcess,
    new_device: NewDevice,
) -> None:
    first = await start_production(presence_heartbeat_ttl_s=HEARTBEAT_TTL_S)
    # A second live process sweeps too, and must not repeat the event.
    await start_second(
        start_production, first, presence_heartbeat_ttl_s=HEARTBEAT_TTL_S
    )
    child = await start_serve_process(
        data_dir=first.data_dir, presence_heartbeat_ttl_s=HEARTBEAT_TTL_S
    )
    owner = await new_device(first, "owner")
    member = await new_device(child, "member")
    shared = await share_session(owner, member)
    before = await member_list(owner, shared.session_id)
    target = member_id(before)

    await child.kill()

    def is_offline(event: dict[str, Any]) -> bool:
        return online_of(event["members"]).get(target) is False

    offline = await owner.log.wait_for(
        "members:updated", is_offline, timeout_s=OFFLINE_WAIT_S
    )
    after = online_of(await member_list(owner, shared.session_id))
    # Several sweeps of both live processes, to catch a repeated event.
    await asyncio.sleep(3 * HEARTBEAT_TTL_S)

    assert online_of(before)[target] is True
    assert len(offline["members"]) == 2
    assert after[target] is False
    assert len(owner.log.all("members:updated", is_offline)) == 1


async def test_live_process_devices_stay_online(
    start_production: StartProduction,
    start_serve_process: StartServeProcess,
    new_device: NewDevice,
) -> None:
    first = await start_production(presence_heartbeat_ttl_s=HEARTBEAT_TTL_S)
    child = await start_serve_process(
        data_dir=first.data_dir, presence_heartbeat_ttl_s=HEARTBEAT_TTL_S
    )
    owner = await new_device(first, "owner")
    member = await new_device(child, "member")
    shared = await share_session(owner, member)
    target = member_id(await member_list(owner, shared.session_id))

    # Several heartbeat lifetimes, each of which would drop a process
    # that stopped refreshing its heartbeat.
    await asyncio.sleep(4 * HEARTBEAT_TTL_S)
    later = online_of(await member_list(owner, shared.session_id))
    updates = owner.log.all("members:updated")

    offline_updates = [
        e for e in updates if online_of(e["members"]).get(target) is False
    ]
    assert later[target] is True
    assert offline_updates == []


async def test_lost_field_dropped_once(redis_prefix: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    try:
        crashed = SharedPresence(redis, redis_prefix, HEARTBEAT_TTL_S)
        sweepers = [
            SharedPresence(redis, redis_prefix, HEARTBEAT_TTL_S) for _ in range(3)
        ]
        for sweeper in sweepers:
            await sweeper.beat()
        await crashed.add("session-1", "device-b", "sid-1")
        await sweepers[0].add("session-1", "device-a", "sid-3")
        online_while_beating = await sweepers[1].online_devices("session-1")
        await crashed.stop_beating()

        online_after = await sweepers[1].online_devices("session-1")
        results = await asyncio.gather(*(s.drop_lost() for s in sweepers))
        left = await redis.hvals(f"{redis_prefix}:presence:session-1")  # type: ignore[misc]
    finally:
        await redis.aclose()

    reports = [result.get("session-1", set()) for result in results]
    assert online_while_beating == {"device-a", "device-b"}
    assert online_after == {"device-a"}
    assert sum("device-b" in report for report in reports) == 1
    assert all(report <= {"device-b"} for report in reports)
    assert left == [b"device-a"]


async def test_field_without_process_counts(redis_prefix: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    try:
        reader = SharedPresence(redis, redis_prefix, HEARTBEAT_TTL_S)
        # The field format before heartbeats: a bare socket id.
        await redis.hset(f"{redis_prefix}:presence:s", "bare-sid", "device-old")  # type: ignore[misc]
        online = await reader.online_devices("s")
        dropped = await reader.drop_lost()
    finally:
        await redis.aclose()

    assert online == {"device-old"}
    assert dropped == {}


async def test_lapsed_heartbeat_shares_sockets_again(
    start_production: StartProduction, new_device: NewDevice, redis_prefix: str
) -> None:
    first = await start_production(presence_heartbeat_ttl_s=HEARTBEAT_TTL_S)
    second = await start_second(
        start_production, first, presence_heartbeat_ttl_s=HEARTBEAT_TTL_S
    )
    owner = await new_device(first, "owner")
    member = await new_device(second, "member")
    shared = await share_session(owner, member)
    target = member_id(await member_list(owner, shared.session_id))
    lapsed = second.app[keys.PRESENCE]
    announced_online = online_announcements(owner, target)

    # As if the second process had stalled for longer than its heartbeat TTL.
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.delete(f"{redis_prefix}:presence-process:{lapsed.process_id}")
    finally:
        await redis.aclose()
    dropped = await first.app[keys.PRESENCE].drop_lost()
    dropped_view = online_of(await member_list(owner, shared.session_id))
    restored_view = await wait_for_online(owner, shared.session_id, target)
    for _ in range(int(OFFLINE_WAIT_S / 0.2)):
        if online_announcements(owner, target) > announced_online:
            break
        await asyncio.sleep(0.2)

    assert dropped == {shared.session_id: {target}}
    assert dropped_view[target] is False
    assert restored_view[target] is True
    assert online_announcements(owner, target) == announced_online + 1


async def test_join_after_lapse_shares_sockets_again(
    start_production: StartProduction, new_device: NewDevice, redis_prefix: str
) -> None:
    first = await start_production(presence_heartbeat_ttl_s=HEARTBEAT_TTL_S)
    second = await start_second(
        start_production, first, presence_heartbeat_ttl_s=HEARTBEAT_TTL_S
    )
    owner = await new_device(first, "owner")
    member = await new_device(second, "member")
    latecomer = await new_device(second, "latecomer")
    shared = await share_session(owner, member)
    target = member_id(await member_list(owner, shared.session_id))
    lapsed = second.app[keys.PRESENCE]

    # The lapse as before, then a join on the lapsed process before its
    # next beat: that join writes the heartbeat key again.
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.delete(f"{redis_prefix}:presence-process:{lapsed.process_id}")
    finally:
        await redis.aclose()
    await first.app[keys.PRESENCE].drop_lost()
    await latecomer.join(shared.join_token)
    restored_view = await wait_for_online(owner, shared.session_id, target)

    assert restored_view[target] is True


async def wait_for_online(
    device: Device, session_id: str, target: str
) -> dict[str, bool]:
    """Return the member list's online marks once `target` is online again."""
    for _ in range(int(OFFLINE_WAIT_S / 0.2)):
        online = online_of(await member_list(device, session_id))
        if online[target]:
            return online
        await asyncio.sleep(0.2)
    raise AssertionError(f"{target} not online again within {OFFLINE_WAIT_S} s")


def online_announcements(device: Device, target: str) -> int:
    """Count the member lists `device` received that show `target` online."""
    updates = device.log.all("members:updated")
    return sum(online_of(e["members"]).get(target) is True for e in updates)
