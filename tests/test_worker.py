"""The production stack: deadline jobs and sweeps in `dropspace worker`.

Servers here run on a throwaway PostgreSQL database and a Redis prefix of
their own. The worker is a real child process on the same settings.
"""

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server import jobs, keys
from server.schema import files, sessions
from server.sessions import mark_ended
from tests.content import MIB, Stamped
from tests.devices import (
    Device,
    NewDevice,
    SharedSession,
    for_file,
    join_token_of,
    share_session,
)
from tests.production import REDIS_URL
from tests.servers import RunningServer, StartProduction, StartServer, StartWorker

LIFETIME_S = 2
BOUND_S = 20.0
POLL_S = 0.05


async def wait_until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll `check` until it holds; fail naming `what` after BOUND_S."""
    for _ in range(int(BOUND_S / POLL_S)):
        if await check():
            return
        await asyncio.sleep(POLL_S)
    raise AssertionError(f"{what} did not happen within {BOUND_S} s")


async def deadline_job_score(server: RunningServer, session_id: str) -> float | None:
    """Return when the session's deadline job is due, in epoch ms, or None."""
    client = Redis.from_url(REDIS_URL)
    try:
        job_id = jobs.expire_job_id(server.settings, session_id)
        score: float | None = await client.zscore(
            jobs.queue_name(server.settings), job_id
        )
        return score
    finally:
        await client.aclose()


async def test_worker_needs_redis(tmp_path: Path) -> None:
    environment = os.environ | {
        "DROPSPACE_REDIS_URL": "",
        "DROPSPACE_DATA_DIR": str(tmp_path),
    }
    command = [sys.executable, "-m", "server.cli", "worker"]

    result = await asyncio.to_thread(
        subprocess.run, command, env=environment, capture_output=True, timeout=60
    )

    assert result.returncode == 2
    assert b"set DROPSPACE_REDIS_URL" in result.stderr


async def test_worker_expires_session_at_deadline(
    start_production: StartProduction,
    start_worker: StartWorker,
    new_device: NewDevice,
) -> None:
    # Sweeps an hour apart: only the deadline job can end the session soon.
    server = await start_production(sweep_interval_s=3600.0)
    start_worker(server.settings)
    owner = await new_device(server, "owner")
    member = await new_device(server, "member")
    shared = await share_session(owner, member, LIFETIME_S)
    await member.upload(shared.session_id, "done.bin", Stamped(MIB))

    assert await deadline_job_score(server, shared.session_id) == pytest.approx(
        shared.session["expires_at"], abs=1
    )
    for device in (owner, member):
        ended = await device.log.wait_for("session:ended", timeout_s=BOUND_S)
        assert ended["reason"] == "expired"
    await server.wait_until_no_files(BOUND_S)
    reply = await owner.request("GET", f"/s/{shared.join_token}")
    assert reply.status == 410


async def test_worker_expires_sqlite_session_with_redis(
    start_server: StartServer,
    start_worker: StartWorker,
    new_device: NewDevice,
    redis_prefix: str,
) -> None:
    # Redis without PostgreSQL: the worker shares the server's SQLite file.
    server = await start_server(
        database_url="",
        redis_url=REDIS_URL,
        redis_prefix=redis_prefix,
        sweep_interval_s=3600.0,
        min_lifetime_s=1,
    )
    start_worker(server.settings)
    owner = await new_device(server, "owner")
    member = await new_device(server, "member")
    shared = await share_session(owner, member, LIFETIME_S)
    await member.upload(shared.session_id, "done.bin", Stamped(MIB))

    for device in (owner, member):
        ended = await device.log.wait_for("session:ended", timeout_s=BOUND_S)
        assert ended["reason"] == "expired"
    await server.wait_until_no_files(BOUND_S)


async def test_session_delete_removes_deadline_job(
    start_production: StartProduction, new_device: NewDevice
) -> None:
    server = await start_production()
    owner = await new_device(server, "owner")
    member = await new_device(server, "member")
    shared = await share_session(owner, member)
    assert await deadline_job_score(server, shared.session_id) is not None

    answer = await owner.call("session:delete", {"session_id": shared.session_id})

    assert answer.get("ok") is True
    assert await deadline_job_score(server, shared.session_id) is None


async def test_rescheduled_deadline_replaces_job(
    start_production: StartProduction, new_device: NewDevice
) -> None:
    server = await start_production()
    owner = await new_device(server, "owner")
    member = await new_device(server, "member")
    shared = await share_session(owner, member)
    deadlines = server.app[keys.SCHEDULER]
    later = shared.session["expires_at"] + 60_000

    await deadlines.schedule(shared.session_id, epoch_ms_to_datetime(later))
    await deadlines.schedule(shared.session_id, epoch_ms_to_datetime(later))

    assert await deadline_job_score(server, shared.session_id) == later
    client = Redis.from_url(REDIS_URL)
    try:
        queued = await client.zrange(jobs.queue_name(server.settings), 0, -1)
    finally:
        await client.aclose()
    assert len(queued) == 1


def epoch_ms_to_datetime(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC)


async def test_session_not_due_is_left_alone(
    start_production: StartProduction,
    start_worker: StartWorker,
    new_device: NewDevice,
) -> None:
    # A deadline job that fires early, as after an extension, must do nothing.
    server = await start_production()
    owner = await new_device(server, "owner")
    member = await new_device(server, "member")
    shared = await share_session(owner, member, 3600)
    early = datetime.now(UTC)
    await server.app[keys.SCHEDULER].schedule(shared.session_id, early)
    start_worker(server.settings)

    await wait_until(
        lambda: _job_gone(server, shared.session_id), "the early job running"
    )

    reply = await owner.request("GET", f"/s/{shared.join_token}")
    assert reply.status == 200
    assert not owner.log.all("session:ended")


async def _job_gone(server: RunningServer, session_id: str) -> bool:
    return await deadline_job_score(server, session_id) is None


# Each sweep runs in the worker and, for the embedded server, in-process.
Started = tuple[RunningServer, SharedSession]
MODES = ["worker", "embedded"]


@pytest.fixture(params=MODES)
def start_swept(
    request: pytest.FixtureRequest,
    start_production: StartProduction,
    start_server: StartServer,
    start_worker: StartWorker,
    new_device: NewDevice,
) -> Callable[..., Awaitable[Started]]:
    """Return a function that starts a swept server and shares a session."""

    async def start(**overrides: object) -> Started:
        if request.param == "worker":
            server = await start_production(**overrides)
            start_worker(server.settings)
        else:
            server = await start_server(sweep_interval_s=0.2, **overrides)
        owner = await new_device(server, "owner")
        member = await new_device(server, "member")
        return server, await share_session(owner, member)

    return start


async def test_sweep_removes_abandoned_upload(
    start_swept: Callable[..., Awaitable[Started]],
) -> None:
    server, shared = await start_swept(upload_abandon_s=1.0)
    member = shared.member
    partial = await member.start_upload(shared.session_id, "half.bin", 2 * MIB)
    await member.send_range(partial["id"], Stamped(2 * MIB), "http", end=MIB)

    deleted = await shared.owner.log.wait_for(
        "file:deleted", for_file(partial["id"]), timeout_s=BOUND_S
    )

    assert deleted["reason"] == "abandoned"
    await server.wait_until_no_files(BOUND_S)
    offset = await member.upload_offset(partial["id"])
    assert offset.get("code") == "upload_not_active"
    updated = await shared.owner.log.wait_for(
        "session:updated", lambda event: event["used_bytes"] == 0, timeout_s=BOUND_S
    )
    assert updated["used_bytes"] == 0


async def test_sweep_removes_orphan_files(
    start_swept: Callable[..., Awaitable[Started]],
) -> None:
    server, shared = await start_swept(orphan_grace_s=0.0)
    kept = await shared.member.upload(shared.session_id, "kept.bin", Stamped(MIB))
    session_dir = server.files_dir / shared.session_id
    stray = session_dir / "0123456789abcdef0123456789abcdef"
    stray.write_bytes(b"no record owns this")
    stray_part = session_dir / "fedcba9876543210fedcba9876543210.part"
    stray_part.write_bytes(b"nor this")
    stray_folder = server.files_dir / "00000000000000000000000000000000"
    stray_folder.mkdir()
    (stray_folder / "file").write_bytes(b"a session that never existed")

    async def strays_gone() -> bool:
        return not (stray.exists() or stray_part.exists() or stray_folder.exists())

    await wait_until(strays_gone, "removal of the orphan files")

    assert (session_dir / kept["id"]).exists()
    status, digest = await shared.owner.download_sha256(kept["id"])
    assert (status, digest) == (200, Stamped(MIB).sha256())


async def test_sweep_drops_record_of_missing_file(
    start_swept: Callable[..., Awaitable[Started]],
) -> None:
    server, shared = await start_swept(orphan_grace_s=0.0)
    lost = await shared.member.upload(shared.session_id, "lost.bin", Stamped(MIB))
    kept = await shared.member.upload(shared.session_id, "kept.bin", Stamped(MIB))
    (server.files_dir / shared.session_id / lost["id"]).unlink()

    deleted = await shared.owner.log.wait_for(
        "file:deleted", for_file(lost["id"]), timeout_s=BOUND_S
    )

    assert deleted["reason"] == "missing"
    gone = await shared.owner.download(lost["id"])
    assert (gone.status, gone.json().get("code")) == (404, "not_found")
    assert (await shared.owner.download(kept["id"])).status == 200
    assert not shared.owner.log.all("file:deleted", for_file(kept["id"]))


# Long enough that no test outlasts it. The tests move stored times into the
# past instead of waiting for a grace period to run out.
LONG_GRACE_S = 3600.0
LONG_AGO = timedelta(hours=2)


async def test_missing_file_outlives_first_sweep(
    start_swept: Callable[..., Awaitable[Started]],
) -> None:
    server, shared = await start_swept(orphan_grace_s=LONG_GRACE_S)
    lost = await shared.member.upload(shared.session_id, "lost.bin", Stamped(MIB))
    engine = create_async_engine(server.settings.sqlalchemy_url)
    try:
        # An old record, whose age must not count towards the grace period.
        await _move_back(engine, lost["id"], "created_at", "updated_at")
        (server.files_dir / shared.session_id / lost["id"]).unlink()
        found = await _wait_for_file_row(
            engine, lost["id"], _marked_or_settled, "a sweep finding the file missing"
        )
        assert found.state == "complete"
        assert found.missing_since is not None

        # The file has now been missing for the whole grace period.
        await _move_back(engine, lost["id"], "missing_since")
        deleted = await shared.owner.log.wait_for(
            "file:deleted", for_file(lost["id"]), timeout_s=BOUND_S
        )
        assert deleted["reason"] == "missing"
        assert await _reserved_bytes(engine, shared.session_id) == 0
    finally:
        await engine.dispose()

    gone = await shared.owner.download(lost["id"])
    assert (gone.status, gone.json().get("code")) == (404, "not_found")
    await wait_until(
        lambda: _usage_announced_after_delete(shared.owner, lost["id"]),
        "a session:updated with the freed space",
    )


async def test_missing_file_back_within_grace(
    start_swept: Callable[..., Awaitable[Started]],
    tmp_path: Path,
) -> None:
    server, shared = await start_swept(orphan_grace_s=LONG_GRACE_S)
    kept = await shared.member.upload(shared.session_id, "kept.bin", Stamped(MIB))
    stored = server.files_dir / shared.session_id / kept["id"]
    away = tmp_path / "away.bin"
    engine = create_async_engine(server.settings.sqlalchemy_url)
    try:
        await _move_back(engine, kept["id"], "created_at", "updated_at")
        stored.rename(away)
        found = await _wait_for_file_row(
            engine, kept["id"], _marked_or_settled, "a sweep finding the file missing"
        )
        assert found.state == "complete"

        away.rename(stored)
        back = await _wait_for_file_row(
            engine, kept["id"], _unmarked, "a sweep finding the file again"
        )
    finally:
        await engine.dispose()

    assert back.state == "complete"
    assert back.missing_since is None
    status, digest = await shared.owner.download_sha256(kept["id"])
    assert (status, digest) == (200, Stamped(MIB).sha256())
    assert not shared.owner.log.all("file:deleted", for_file(kept["id"]))


SKIPPED_SWEEP = "sweeps skipped sweeps=missing_files,orphan_files"


@pytest.mark.parametrize("unmounted", ["absent", "empty", "lost+found"])
async def test_unmounted_files_folder_keeps_records(
    start_swept: Callable[..., Awaitable[Started]],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    unmounted: str,
) -> None:
    # With a grace period of 0 and no check of the folder, the second sweep
    # would fail every record, and once the folder is back, the orphan sweep
    # would delete their bytes.
    server, shared = await start_swept(orphan_grace_s=0.0)
    owner = shared.owner
    first = await shared.member.upload(shared.session_id, "a.bin", Stamped(MIB))
    second_session = await owner.create_session("second", None)
    await owner.join(join_token_of(second_session))
    second = await owner.upload(second_session["id"], "b.bin", Stamped(MIB))
    away = tmp_path / "files-away"

    server.files_dir.rename(away)
    if unmounted != "absent":
        # What an unmounted mount point looks like.
        server.files_dir.mkdir()
    if unmounted == "lost+found":
        (server.files_dir / "lost+found").mkdir()
    left_behind = _entries_of(server.files_dir)

    third_session = await owner.create_session("third", None)
    await owner.join(join_token_of(third_session))
    rejected = await owner.start_uploads(
        third_session["id"], [{"name": "c.bin", "size": 10}]
    )
    assert rejected.get("code") == "storage_unavailable"
    assert rejected.get("retry_after_s", 0) > 0
    assert _entries_of(server.files_dir) == left_behind

    async def skipped_or_deleted() -> bool:
        if owner.log.all("file:deleted"):
            return True
        return await _skips_logged(caplog, tmp_path, at_least=2)

    await wait_until(skipped_or_deleted, "two skipped sweeps")
    assert not owner.log.all("file:deleted")
    if unmounted != "absent":
        shutil.rmtree(server.files_dir)
    away.rename(server.files_dir)
    # A folder no session owns, which the next orphan sweep removes: once it
    # is gone, a whole pass of the sweeps has run with the folder back.
    stray = server.files_dir / "00000000000000000000000000000000"
    stray.mkdir()
    await wait_until(
        lambda: asyncio.to_thread(lambda: not stray.exists()), "an orphan sweep"
    )

    engine = create_async_engine(server.settings.sqlalchemy_url)
    try:
        for file_id in (first["id"], second["id"]):
            row = await _file_row(engine, file_id)
            assert row.state == "complete"
            assert row.missing_since is None
    finally:
        await engine.dispose()
    assert not owner.log.all("file:deleted")
    for file_id in (first["id"], second["id"]):
        status, digest = await owner.download_sha256(file_id)
        assert (status, digest) == (200, Stamped(MIB).sha256())


def _entries_of(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


async def test_cut_off_finish_is_not_missing(
    start_swept: Callable[..., Awaitable[Started]],
) -> None:
    # A finish cut off between the move into place and the record leaves an
    # uploading record whose bytes sit under the final name. A finish sent
    # to another process moves them back, so the record must stay.
    server, shared = await start_swept(orphan_grace_s=0.0)
    member = shared.member
    cut_off = await member.start_upload(
        shared.session_id, "cut.bin", MIB, Stamped(MIB).sha256()
    )
    await member.send_range(cut_off["id"], Stamped(MIB))
    session_dir = server.files_dir / shared.session_id
    (session_dir / f"{cut_off['id']}.part").rename(session_dir / cut_off["id"])
    # Its removal takes two sweeps, so the cut-off file was checked twice.
    lost = await member.upload(shared.session_id, "lost.bin", Stamped(MIB))
    (session_dir / lost["id"]).unlink()
    await shared.owner.log.wait_for(
        "file:deleted", for_file(lost["id"]), timeout_s=BOUND_S
    )

    engine = create_async_engine(server.settings.sqlalchemy_url)
    try:
        row = await _file_row(engine, cut_off["id"])
    finally:
        await engine.dispose()
    assert row.state == "uploading"
    assert row.missing_since is None
    assert (session_dir / cut_off["id"]).stat().st_size == MIB


async def _move_back(engine: AsyncEngine, file_id: str, *columns: str) -> None:
    past = datetime.now(UTC) - LONG_AGO
    async with engine.begin() as connection:
        await connection.execute(
            update(files)
            .where(files.c.id == file_id)
            .values(dict.fromkeys(columns, past))
        )


@dataclass(frozen=True)
class FileRow:
    """The columns of a file record that the missing-file sweep changes."""

    state: str
    missing_since: datetime | None


async def _file_row(engine: AsyncEngine, file_id: str) -> FileRow:
    query = select(files.c.state, files.c.missing_since).where(files.c.id == file_id)
    async with engine.connect() as connection:
        row = (await connection.execute(query)).one()
    return FileRow(row.state, row.missing_since)


async def _wait_for_file_row(
    engine: AsyncEngine,
    file_id: str,
    check: Callable[[FileRow], bool],
    what: str,
) -> FileRow:
    async def holds() -> bool:
        return check(await _file_row(engine, file_id))

    await wait_until(holds, what)
    return await _file_row(engine, file_id)


def _marked_or_settled(row: FileRow) -> bool:
    return row.missing_since is not None or row.state != "complete"


def _unmarked(row: FileRow) -> bool:
    return row.missing_since is None


async def _reserved_bytes(engine: AsyncEngine, session_id: str) -> int:
    query = select(sessions.c.reserved_bytes).where(sessions.c.id == session_id)
    async with engine.connect() as connection:
        return int((await connection.execute(query)).scalar_one())


async def _usage_announced_after_delete(owner: Device, file_id: str) -> bool:
    names = [
        (name, payload)
        for name, payload in owner.log.events
        if name in ("file:deleted", "session:updated")
    ]
    deleted_at = next(
        index
        for index, (name, payload) in enumerate(names)
        if name == "file:deleted" and payload.get("file_id") == file_id
    )
    return any(
        name == "session:updated" and payload["used_bytes"] == 0
        for name, payload in names[deleted_at + 1 :]
    )


async def _skips_logged(
    caplog: pytest.LogCaptureFixture, tmp_path: Path, at_least: int
) -> bool:
    # The embedded server logs in this process, the worker to its log file.
    found = sum(SKIPPED_SWEEP in message for message in caplog.messages)
    found += await asyncio.to_thread(_count_in_worker_logs, tmp_path, SKIPPED_SWEEP)
    return found >= at_least


def _count_in_worker_logs(folder: Path, text: str) -> int:
    return sum(
        worker_log.read_text(errors="replace").count(text)
        for worker_log in folder.glob("worker-*.log")
    )


async def test_sweep_finishes_interrupted_end(
    start_swept: Callable[..., Awaitable[Started]],
) -> None:
    # The state a crash leaves between marking a session ended and deleting
    # its files. The session record is ended, but its files are still listed
    # and stored.
    server, shared = await start_swept()
    stored = await shared.member.upload(shared.session_id, "f.bin", Stamped(MIB))
    engine = create_async_engine(server.settings.sqlalchemy_url)
    try:
        await mark_ended(engine, shared.session_id, "deleted", only_if_due=False)
        await wait_until(lambda: _no_visible_files(engine), "retiring the files")
    finally:
        await engine.dispose()

    await server.wait_until_no_files(BOUND_S)
    ended = await shared.member.log.wait_for("session:ended", timeout_s=BOUND_S)
    assert ended["reason"] == "deleted"
    assert (await shared.owner.download(stored["id"])).status == 410


SESSIONS_TO_EXPIRE = 40


async def test_killed_worker_sweep_finished_by_next(
    start_production: StartProduction,
    start_worker: StartWorker,
    new_device: NewDevice,
) -> None:
    server = await start_production(guest_max_sessions=SESSIONS_TO_EXPIRE)
    owner = await new_device(server, "owner")
    await owner.start_guest()
    for number in range(SESSIONS_TO_EXPIRE):
        # Long enough to outlast the set-up on a busy machine; the deadlines
        # are moved into the past once every file is in.
        session = await owner.create_session(f"s{number}", lifetime_s=600)
        await owner.join(session["join_url"].rsplit("/", 1)[-1])
        await owner.upload(session["id"], "f.bin", Stamped(64 * 1024))
    engine = create_async_engine(server.settings.database_url)
    try:
        await _make_overdue(engine)
        await _expire_with_a_kill(server, start_worker, engine)
    finally:
        await engine.dispose()


async def _expire_with_a_kill(
    server: RunningServer, start_worker: StartWorker, engine: AsyncEngine
) -> None:
    first = start_worker(server.settings)
    await wait_until(lambda: _ended_count(engine, at_least=1), "a first expiry")
    first.kill()
    ended, visible = await _counts(engine)
    # Expiring every session takes the worker seconds; the kill came early.
    assert ended < SESSIONS_TO_EXPIRE or visible > 0, "the kill came too late"

    second = start_worker(server.settings)
    await wait_until(
        lambda: _ended_count(engine, at_least=SESSIONS_TO_EXPIRE), "every expiry"
    )
    await wait_until(lambda: _no_visible_files(engine), "retiring every file")
    await server.wait_until_no_files(BOUND_S)
    await second.stop()


async def _make_overdue(engine: AsyncEngine) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    async with engine.begin() as connection:
        await connection.execute(update(sessions).values(expires_at=past))


async def _ended_count(engine: AsyncEngine, at_least: int) -> bool:
    return (await _counts(engine))[0] >= at_least


async def _no_visible_files(engine: AsyncEngine) -> bool:
    return (await _counts(engine))[1] == 0


async def _counts(engine: AsyncEngine) -> tuple[int, int]:
    ended = select(func.count()).where(sessions.c.ended_at.is_not(None))
    visible = select(func.count()).where(files.c.state.in_(("uploading", "complete")))
    async with engine.connect() as connection:
        return (
            int((await connection.execute(ended)).scalar_one()),
            int((await connection.execute(visible)).scalar_one()),
        )
