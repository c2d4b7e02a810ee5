"""A lobby whose connection was down when its device was pulled in."""

import pytest

from tests.devices import NewDevice, expect_ok, join_token_of
from tests.pairing import lobby_offer, redeem
from tests.servers import RunningServer
from tests.test_pairing import owner_with_session


async def test_lobby_learns_of_pull_missed_offline(
    server: RunningServer, new_device: NewDevice
) -> None:
    owner, session = await owner_with_session(new_device, server)
    target = await new_device(server, "target")
    offer = await lobby_offer(target)
    await target.drop_socket()

    expect_ok(await redeem(owner, session["id"], offer["code"]), "redeem")
    await target.connect()
    again = expect_ok(
        await target.call("pairing:offer", {"since": offer["server_now"]}), "offer"
    )

    assert again["pulled"] == {
        "session_id": session["id"],
        "join_url": session["join_url"],
        "title": session["title"],
    }
    assert target.log.all("pairing:pulled") == []


async def test_lobby_opened_after_pull_stays(
    server: RunningServer, new_device: NewDevice
) -> None:
    owner, session = await owner_with_session(new_device, server)
    target = await new_device(server, "target")
    offer = await lobby_offer(target)
    expect_ok(await redeem(owner, session["id"], offer["code"]), "redeem")
    await target.log.wait_for("pairing:pulled")

    # The person went back to the lobby: a new lobby counts from its own offer.
    fresh = await lobby_offer(target)
    again = expect_ok(
        await target.call("pairing:offer", {"since": fresh["server_now"] + 1}), "offer"
    )

    assert again["pulled"] is None


async def test_lobby_learns_of_repeated_pull_after_removal(
    server: RunningServer, new_device: NewDevice
) -> None:
    owner, session = await owner_with_session(new_device, server)
    target = await new_device(server, "target")
    joined = await target.join(join_token_of(session))
    expect_ok(
        await owner.call(
            "member:remove",
            {"session_id": session["id"], "device_id": joined["device"]["id"]},
        ),
        "remove",
    )
    offer = await lobby_offer(target)
    await target.drop_socket()

    expect_ok(await redeem(owner, session["id"], offer["code"]), "redeem")
    await target.connect()
    again = expect_ok(
        await target.call("pairing:offer", {"since": offer["server_now"]}), "offer"
    )

    assert again["pulled"] is not None
    assert again["pulled"]["session_id"] == session["id"]


async def test_offer_without_since_names_no_pull(
    server: RunningServer, new_device: NewDevice
) -> None:
    target = await new_device(server, "target")

    offer = await lobby_offer(target)

    assert "pulled" not in offer


@pytest.mark.parametrize("since", ["yesterday", -1, True, 10**20, 1.5])
async def test_malformed_since_is_bad_request(
    server: RunningServer, new_device: NewDevice, since: object
) -> None:
    target = await new_device(server, "target")

    answer = await target.call("pairing:offer", {"since": since})

    assert answer["ok"] is False
    assert answer["code"] == "bad_request"
    assert "since" in answer["message"]
