"""The registry of periodic sweeps, run by the worker's cron job and, in
embedded mode, by the in-process scheduler.

To add a sweep, write an idempotent `async def name(context: SweepContext)
-> int` and add one line to SWEEPS.
"""

import logging

from sqlalchemy.exc import SQLAlchemyError

from server import cleanup, removal
from server.sweeping import Sweep, SweepContext

log = logging.getLogger(__name__)


async def expire_overdue_sessions(context: SweepContext) -> int:
    """End sessions past their deadline and finish ends cut short."""
    return await context.expiry.sweep()


async def remove_expired_guests(context: SweepContext) -> int:
    """Delete guest accounts past their lifetime, with their sessions and files."""
    return await removal.sweep_expired_guests(
        context.engine, context.storage, context.expiry
    )


# Sweeps that judge by what is on disk. Each checks the storage marker
# itself, and run_all logs one warning for all of them when it is missing.
STORAGE_SWEEPS = frozenset({"missing_files", "orphan_files"})

SWEEPS: dict[str, Sweep] = {
    "expired_sessions": expire_overdue_sessions,
    "abandoned_uploads": cleanup.remove_abandoned_uploads,
    "missing_files": cleanup.remove_missing_records,
    "orphan_files": cleanup.remove_orphan_files,
    "expired_guests": remove_expired_guests,
}


async def run_all(context: SweepContext) -> dict[str, int]:
    """Run every sweep once; one that fails is logged and retried next time."""
    handled: dict[str, int] = {}
    has_marker = await context.storage.marker.is_present(fresh=True)
    if not has_marker:
        log.warning(
            "sweeps skipped sweeps=%s marker=%s, because the files folder has no "
            "storage marker. Check that its storage is mounted.",
            ",".join(sorted(STORAGE_SWEEPS)),
            context.storage.marker.path,
        )
    for name, sweep in SWEEPS.items():
        if name in STORAGE_SWEEPS and not has_marker:
            continue
        try:
            handled[name] = await sweep(context)
        except (SQLAlchemyError, OSError) as error:
            log.warning("sweep failed, retrying next time sweep=%s: %s", name, error)
            continue
        if handled[name]:
            log.info("sweep done sweep=%s handled=%d", name, handled[name])
    return handled
