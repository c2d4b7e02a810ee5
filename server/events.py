"""Socket.IO event names; `web/static/js/events.js` spells them the same."""

SESSION_JOIN = "session:join"
SESSION_LEAVE = "session:leave"
SESSION_DELETE = "session:delete"
SESSION_EXTEND = "session:extend"
SESSION_UPDATED = "session:updated"
SESSION_ENDED = "session:ended"
UPLOAD_START = "upload:start"
UPLOAD_CHUNK = "upload:chunk"
UPLOAD_OFFSET = "upload:offset"
UPLOAD_FINISH = "upload:finish"
UPLOAD_CANCEL = "upload:cancel"
UPLOAD_STARTED = "upload:started"
UPLOAD_PROGRESS = "upload:progress"
FILE_READY = "file:ready"
FILE_DELETE = "file:delete"
FILE_DELETED = "file:deleted"
CLOCK_SYNC = "clock:sync"
SESSION_REPLACE_LINK = "session:replace_link"
SESSION_LINK_REPLACED = "session:link_replaced"
SESSION_REMOVED = "session:removed"
MEMBER_LIST = "member:list"
MEMBER_REMOVE = "member:remove"
MEMBERS_UPDATED = "members:updated"
PAIRING_OFFER = "pairing:offer"
PAIRING_OFFERED = "pairing:offered"
PAIRING_REDEEM = "pairing:redeem"
PAIRING_PEEK = "pairing:peek"
PAIRING_PULL = "pairing:pull"
PAIRING_PULLED = "pairing:pulled"
ACCOUNT_SIGNED_OUT = "account:signed_out"
# Sent when the server may have missed bus messages, as after Redis restarts.
SESSION_RESYNC = "session:resync"


def session_room(session_id: str) -> str:
    """Return the room of a session's devices."""
    return f"session:{session_id}"


def device_room(device_id: str) -> str:
    """Return the room of all connections of one device."""
    return f"device:{device_id}"
