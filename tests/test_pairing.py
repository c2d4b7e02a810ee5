"""Pairing over Socket.IO: session link, lobby link, lobby code, and their limits."""

import asyncio
from collections.abc import Callable

import pytest

from server import pairing_codes
from tests.devices import Device, NewDevice, SharedSession, expect_ok, join_token_of
from tests.pairing import (
    link_token_of,
    lobby_offer,
    member_list,
    online_of,
    redeem,
    second_tab,
)
from tests.servers import RunningServer, StartServer


async def owner_with_session(
    new_device: NewDevice, server: RunningServer, label: str = "owner"
) -> tuple[Device, dict]:
    owner = await new_device(server, label)
    await owner.start_guest()
    session = await owner.create_session(f"{label}'s session")
    await owner.join(join_token_of(session))
    return owner, session


async def test_lobby_offer_is_shared_by_tabs(
    server: RunningServer, new_device: NewDevice
) -> None:
    lobby = await new_device(server, "lobby")
    tab = await second_tab(new_device, server, lobby)

    first = await lobby_offer(lobby)
    pushed = await tab.log.wait_for("pairing:offered")
    again = await lobby_offer(tab)

    assert first["code"].isdigit()
    assert len(first["code"]) == 11
    assert first["code_display"].replace(" ", "") == first["code"]
    assert len(link_token_of(first)) >= 22
    assert pushed["code"] == first["code"]
    assert again["code"] == first["code"]
    assert first["rotate_at"] < first["expires_at"]
    assert first["expires_at"] - first["server_now"] <= 300_000


async def test_lobby_offer_rotates_before_expiry(
    start_server: StartServer, new_device: NewDevice
) -> None:
    # A 3 s offer is due for rotation after 2 s, a third before its expiry.
    server = await start_server(pairing_code_ttl_s=3)
    owner, session = await owner_with_session(new_device, server)
    lobby = await new_device(server, "lobby")

    first = await lobby_offer(lobby)
    early = await lobby_offer(lobby)
    # Sleep past the rotation moment; the server reads its clock a little later.
    await asyncio.sleep((first["rotate_at"] - first["server_now"] + 100) / 1000)
    second = await lobby_offer(lobby)
    old_code_still_works = await redeem(owner, session["id"], first["code"])

    assert early["code"] == first["code"]
    assert first["rotate_at"] < first["expires_at"]
    assert second["code"] != first["code"]
    assert second["link_url"] != first["link_url"]
    assert old_code_still_works["ok"] is True


async def test_lobby_qr_encodes_current_link(
    server: RunningServer, new_device: NewDevice
) -> None:
    lobby = await new_device(server, "lobby")
    stranger = await new_device(server, "stranger")
    await lobby_offer(lobby)

    mine = await lobby.request("GET", "/api/pairing/qr.svg")
    none = await stranger.request("GET", "/api/pairing/qr.svg")

    assert mine.status == 200
    assert mine.headers["Content-Type"].startswith("image/svg+xml")
    assert b"<svg" in mine.body
    assert none.status == 404
    assert none.json()["code"] == "not_found"


async def test_session_link_joins(shared: SharedSession) -> None:
    members = await member_list(shared.owner, shared.session_id)

    online = online_of(members)
    assert len(members) == 2
    assert all(online.values())
    assert [member["owner"] for member in members] == [True, False]


def spaced(code: str) -> str:
    return f"{code[:3]} {code[3:7]} {code[7:]}"


def dashed(code: str) -> str:
    return f"{code[:3]}-{code[3:7]}-{code[7:]}"


@pytest.mark.parametrize("typed", [str, spaced, dashed])
async def test_code_pulls_device_in(
    server: RunningServer, new_device: NewDevice, typed: Callable[[str], str]
) -> None:
    owner, session = await owner_with_session(new_device, server)
    target = await new_device(server, "target")
    target_tab = await second_tab(new_device, server, target)
    offer = await lobby_offer(target)

    answer = expect_ok(
        await redeem(owner, session["id"], typed(offer["code"])), "redeem"
    )

    for tab in (target, target_tab):
        pulled = await tab.log.wait_for("pairing:pulled")
        assert pulled["session_id"] == session["id"]
        assert pulled["join_url"] == session["join_url"]
    joined = await target.join(join_token_of(session))
    assert joined["session"]["id"] == session["id"]
    assert joined["device"]["id"] == answer["device"]["id"]
    updated = await owner.log.wait_for(
        "members:updated", lambda event: len(event["members"]) == 2
    )
    assert updated["session_id"] == session["id"]


async def test_lobby_link_pulls_device_in(
    server: RunningServer, new_device: NewDevice
) -> None:
    owner, session = await owner_with_session(new_device, server)
    target = await new_device(server, "target")
    offer = await lobby_offer(target)
    link_token = link_token_of(offer)

    page = await owner.request("GET", f"/p/{link_token}")
    peeked = expect_ok(
        await owner.call("pairing:peek", {"link_token": link_token}), "peek"
    )
    pulled = expect_ok(
        await owner.call(
            "pairing:pull", {"link_token": link_token, "session_id": session["id"]}
        ),
        "pull",
    )
    reused = await owner.call(
        "pairing:pull", {"link_token": link_token, "session_id": session["id"]}
    )
    page_after = await owner.request("GET", f"/p/{link_token}")

    assert page.status == 200
    assert peeked["device"]["id"] == pulled["device"]["id"]
    assert peeked["own_device"] is False
    notice = await target.log.wait_for("pairing:pulled")
    assert notice["session_id"] == session["id"]
    assert reused["code"] == "code_rejected"
    assert page_after.status == 404
    expect_ok(await target.join(join_token_of(session)), "join after pull")


async def test_code_is_single_use(server: RunningServer, new_device: NewDevice) -> None:
    owner, session = await owner_with_session(new_device, server)
    target = await new_device(server, "target")
    offer = await lobby_offer(target)

    first = await redeem(owner, session["id"], offer["code"])
    second = await redeem(owner, session["id"], offer["code"])
    next_offer = await lobby_offer(target)

    assert first["ok"] is True
    assert second["code"] == "code_rejected"
    assert next_offer["code"] != offer["code"]


async def test_wrong_expired_used_share_error(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(pairing_code_ttl_s=1)
    owner, session = await owner_with_session(new_device, server)
    used_target = await new_device(server, "used")
    expired_target = await new_device(server, "expired")
    used = await lobby_offer(used_target)
    expect_ok(await redeem(owner, session["id"], used["code"]), "first use")
    expired = await lobby_offer(expired_target)
    await asyncio.sleep(1.2)
    wrong = "0" * 11 if used["code"] != "0" * 11 else "1" * 11

    answers = [
        await redeem(owner, session["id"], code)
        for code in (wrong, expired["code"], used["code"])
    ]

    assert [answer["code"] for answer in answers] == ["code_rejected"] * 3
    assert len({answer["message"] for answer in answers}) == 1


@pytest.mark.parametrize("typed", ["12345", "1234567890a", "\uff11" * 11, 12345678901])
async def test_malformed_code_is_bad_request(
    server: RunningServer, new_device: NewDevice, typed: object
) -> None:
    owner, session = await owner_with_session(new_device, server)

    answer = await owner.call(
        "pairing:redeem", {"session_id": session["id"], "code": typed}
    )

    assert answer["ok"] is False
    assert answer["code"] == "bad_request"


async def test_member_cannot_redeem(
    server: RunningServer, new_device: NewDevice, shared: SharedSession
) -> None:
    target = await new_device(server, "target")
    offer = await lobby_offer(target)

    answer = await redeem(shared.member, shared.session_id, offer["code"])

    assert answer["code"] == "not_allowed"


@pytest.mark.parametrize(
    "limits",
    [
        {"code_failures_per_account": 3},
        {"code_failures_per_address": 3},
        {"code_failures_per_service": 3},
    ],
)
async def test_code_failures_are_limited(
    start_server: StartServer, new_device: NewDevice, limits: dict[str, int]
) -> None:
    server = await start_server(**limits)
    first_owner, first_session = await owner_with_session(new_device, server, "first")
    second_owner, second_session = await owner_with_session(
        new_device, server, "second"
    )
    target = await new_device(server, "target")
    offer = await lobby_offer(target)
    wrong = "9" * 11 if offer["code"] != "9" * 11 else "8" * 11

    failures = [await redeem(first_owner, first_session["id"], wrong) for _ in range(3)]
    blocked = await redeem(first_owner, first_session["id"], offer["code"])
    other = await redeem(second_owner, second_session["id"], offer["code"])

    assert [answer["code"] for answer in failures] == ["code_rejected"] * 3
    assert blocked["code"] == "rate_limited"
    assert blocked["retry_after_s"] > 0
    if "code_failures_per_account" in limits:
        assert other["ok"] is True
    else:
        assert other["code"] == "rate_limited"


async def test_racing_owners_one_wins(
    server: RunningServer, new_device: NewDevice
) -> None:
    first_owner, first_session = await owner_with_session(new_device, server, "first")
    second_owner, second_session = await owner_with_session(
        new_device, server, "second"
    )
    target = await new_device(server, "target")
    offer = await lobby_offer(target)

    answers = await asyncio.gather(
        redeem(first_owner, first_session["id"], offer["code"]),
        redeem(second_owner, second_session["id"], offer["code"]),
    )

    codes = sorted(str(answer.get("code", "ok")) for answer in answers)
    assert codes == ["code_rejected", "ok"]
    notice = await target.log.wait_for("pairing:pulled")
    winner = first_session if answers[0]["ok"] else second_session
    assert notice["session_id"] == winner["id"]


async def test_concurrent_guesses_respect_limit(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(code_failures_per_account=3)
    owner, session = await owner_with_session(new_device, server)
    wrong = [f"{index:011d}" for index in range(10)]

    answers = await asyncio.gather(
        *(redeem(owner, session["id"], code) for code in wrong)
    )

    codes = [answer["code"] for answer in answers]
    assert codes.count("code_rejected") == 3
    assert codes.count("rate_limited") == 7


async def test_tabs_rotating_together_share_offer(
    server: RunningServer, new_device: NewDevice
) -> None:
    lobby = await new_device(server, "lobby")
    tabs = [lobby, *[await second_tab(new_device, server, lobby) for _ in range(3)]]

    offers = await asyncio.gather(*(lobby_offer(tab) for tab in tabs))

    assert len({offer["code"] for offer in offers}) == 1


async def test_codes_unique_among_live(
    server: RunningServer, new_device: NewDevice, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, session = await owner_with_session(new_device, server)
    first = await new_device(server, "first")
    second = await new_device(server, "second")
    third = await new_device(server, "third")
    draws = iter(["1" * 11, "1" * 11, "2" * 11, "1" * 11])
    monkeypatch.setattr(pairing_codes, "new_code", lambda: next(draws))

    first_offer = await lobby_offer(first)
    second_offer = await lobby_offer(second)
    expect_ok(await redeem(owner, session["id"], first_offer["code"]), "redeem")
    third_offer = await lobby_offer(third)

    assert first_offer["code"] == "1" * 11
    assert second_offer["code"] == "2" * 11
    assert third_offer["code"] == "1" * 11
