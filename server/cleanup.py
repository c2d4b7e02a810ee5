"""Sweeps that keep stored bytes and file records in agreement.

- Abandoned uploads: no progress for DROPSPACE_UPLOAD_ABANDON_S; the record
  fails, its space is freed and its partial file deleted.
- Orphan files: bytes on disk that no record owns. A crash between two
  steps leaves them, or a record deleted by hand. They are removed after
  the grace period.
- Missing files: records whose bytes are gone from disk. The first sweep
  that finds the bytes missing records the time, and a later sweep fails the
  record once they have been missing for the grace period, so that downloads
  return "gone" instead of an error. Bytes that come back in time clear the
  mark, because a storage mount that is briefly away or a restore in
  progress looks like a lost file.

Both sweeps that judge by what is on disk skip their pass while the files
folder lacks its marker (server.storage_marker). Storage that is not
mounted would make every record look missing and, once it is back, every
file an orphan of the records that failed meanwhile.

The grace period spares the short moments in which a record and its file
legitimately disagree, such as between moving a finished upload into place
and recording it complete. A record fails only after at least two sweeps
found its bytes missing, even with a grace period of 0.
"""

import logging
from datetime import timedelta

from server import events, files, sessions
from server.files import StoredFile
from server.storage import StoredEntry
from server.sweeping import SweepContext
from server.tokens import utc_now
from server.uploads import announce_usage

log = logging.getLogger(__name__)

ABANDONED = "abandoned"
MISSING = "missing"


async def remove_abandoned_uploads(context: SweepContext) -> int:
    """Fail uploads without progress for too long; return how many."""
    cutoff = utc_now() - timedelta(seconds=context.settings.upload_abandon_s)
    count = 0
    for stored in await files.list_stalled_uploads(context.engine, cutoff):
        if await _fail(context, stored, ABANDONED, (files.UPLOADING,)):
            count += 1
    return count


async def remove_missing_records(context: SweepContext) -> int:
    """Fail records of live sessions whose bytes stayed missing, and return how many.

    Does nothing while the files folder has no marker.
    """
    if not await context.storage.marker.is_present(fresh=True):
        return 0
    records = await files.list_visible_in_live_sessions(context.engine)
    count = 0
    for stored in records:
        if await _check_record(context, stored):
            count += 1
    return count


async def _check_record(context: SweepContext, stored: StoredFile) -> bool:
    """Mark, clear or fail one record by whether its bytes are stored."""
    if await _has_bytes(context, stored):
        if stored.missing_since is not None:
            await files.clear_missing(context.engine, stored.id)
            log.info(
                "missing file found again session=%s file=%s",
                stored.session_id,
                stored.id,
            )
        return False
    if stored.missing_since is None:
        await files.mark_missing(context.engine, stored.id)
        log.warning(
            "file missing session=%s file=%s, its record fails after %g s "
            "unless the file comes back",
            stored.session_id,
            stored.id,
            context.settings.orphan_grace_s,
        )
        return False
    # NOTE: sweeps sample the disk, so a file that comes back and goes again
    # between two sweeps counts as missing the whole time.
    missing_s = (utc_now() - stored.missing_since).total_seconds()
    if missing_s < context.settings.orphan_grace_s:
        return False
    # The storage may have gone away since the pass began.
    if not await context.storage.marker.is_present(fresh=True):
        return False
    return await _fail(context, stored, MISSING, (stored.state,))


async def _has_bytes(context: SweepContext, stored: StoredFile) -> bool:
    storage = context.storage
    is_part_stored = (
        stored.state == files.UPLOADING
        and await storage.part_size(stored.session_id, stored.id) is not None
    )
    if is_part_stored:
        return True
    # An upload's bytes may also sit under the final name. A finish cut off
    # between the move into place and the record leaves them there, and a
    # finish in a process without the upload's hash state moves them back.
    path = storage.final_path(stored.session_id, stored.id)
    return await storage.exists(path)


async def _fail(
    context: SweepContext,
    stored: StoredFile,
    reason: str,
    from_states: tuple[str, ...],
) -> bool:
    if not await files.release(context.engine, stored, files.FAILED, from_states):
        return False
    await context.storage.remove_file(stored.session_id, stored.id)
    log.info(
        "file removed session=%s file=%s reason=%s",
        stored.session_id,
        stored.id,
        reason,
    )
    payload = {"file_id": stored.id, "reason": reason}
    await context.broadcast(events.FILE_DELETED, stored.session_id, payload)
    await announce_usage(context.engine, context.broadcast, stored.session_id)
    return True


async def remove_orphan_files(context: SweepContext) -> int:
    """Delete stored bytes that no record owns; return how many entries.

    Does nothing while the files folder has no marker.
    """
    storage = context.storage
    if not await storage.marker.is_present(fresh=True):
        return 0
    folders = await storage.session_ids()
    ended = await sessions.ended_states(context.engine, folders)
    count = 0
    for session_id in folders:
        if ended.get(session_id) is True:
            await storage.remove_session(session_id)
            log.info("orphan folder removed session=%s", session_id)
            count += 1
        elif session_id not in ended:
            count += await _remove_unknown_folder(context, session_id)
        else:
            count += await _remove_orphans_of(context, session_id)
    return count


async def _remove_unknown_folder(context: SweepContext, session_id: str) -> int:
    age_s = await context.storage.age_s(session_id)
    if age_s is None or age_s < context.settings.orphan_grace_s:
        return 0
    await context.storage.remove_session(session_id)
    log.info("orphan folder removed session=%s", session_id)
    return 1


async def _remove_orphans_of(context: SweepContext, session_id: str) -> int:
    grace_s = context.settings.orphan_grace_s
    entries = [
        entry
        for entry in await context.storage.entries(session_id)
        if entry.age_s >= grace_s
    ]
    states = await files.states_of(
        context.engine, session_id, [entry.file_id for entry in entries]
    )
    count = 0
    for entry in entries:
        if _is_owned(entry, states.get(entry.file_id)):
            continue
        await context.storage.remove_entry(entry)
        log.info("orphan file removed session=%s name=%s", session_id, entry.name)
        count += 1
    return count


def _is_owned(entry: StoredEntry, state: str | None) -> bool:
    if entry.is_part:
        return state == files.UPLOADING
    # A finished file whose record is still `uploading` was cut off between
    # the move into place and the record. Start-up recovery or the abandoned
    # upload sweep settles it.
    return state in files.VISIBLE_STATES
