"""The client resync waits until every Redis subscription of a process is back."""

import pytest

from server.subscriptions import Watch

BUS = "dropspace:bus"
SOCKETIO = "dropspace:socketio"


def counting_watch() -> tuple[Watch, list[int]]:
    watch = Watch()
    runs: list[int] = []

    async def resync() -> None:
        runs.append(len(runs) + 1)

    watch.on_resubscribed(resync)
    return watch, runs


async def test_first_subscriptions_send_no_resync() -> None:
    watch, runs = counting_watch()

    await watch.subscribed(BUS, again=False)
    await watch.subscribed(SOCKETIO, again=False)

    assert runs == []


async def test_resync_waits_for_every_listener() -> None:
    watch, runs = counting_watch()
    watch.lost(BUS)
    watch.lost(SOCKETIO)

    await watch.subscribed(BUS, again=True)
    assert runs == []
    await watch.subscribed(SOCKETIO, again=True)

    assert runs == [1]


async def test_late_noticed_loss_resyncs_again() -> None:
    watch, runs = counting_watch()
    watch.lost(BUS)

    # The Socket.IO listener has not yet noticed that Redis went away.
    await watch.subscribed(BUS, again=True)
    assert runs == [1]
    watch.lost(SOCKETIO)
    await watch.subscribed(SOCKETIO, again=True)

    assert runs == [1, 2]


@pytest.mark.server_errors("server.subscriptions")
async def test_failing_callback_runs_the_rest() -> None:
    watch = Watch()
    runs: list[str] = []

    async def broken() -> None:
        runs.append("broken")
        raise RuntimeError("resync failed")

    async def working() -> None:
        runs.append("working")

    watch.on_resubscribed(broken)
    watch.on_resubscribed(working)
    watch.lost(BUS)

    await watch.subscribed(BUS, again=True)

    assert runs == ["broken", "working"]
