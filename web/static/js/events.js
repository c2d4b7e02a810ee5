// Socket.IO event names, spelled exactly as in docs/protocol.md.

// Client to server: each returns its result in the acknowledgement.
export const SESSION_JOIN = "session:join";
export const SESSION_LEAVE = "session:leave";
export const SESSION_DELETE = "session:delete";
export const SESSION_EXTEND = "session:extend";
export const UPLOAD_START = "upload:start";
export const UPLOAD_CHUNK = "upload:chunk";
export const UPLOAD_OFFSET = "upload:offset";
export const UPLOAD_FINISH = "upload:finish";
export const UPLOAD_CANCEL = "upload:cancel";
export const FILE_DELETE = "file:delete";
export const CLOCK_SYNC = "clock:sync";
export const SESSION_REPLACE_LINK = "session:replace_link";
export const MEMBER_LIST = "member:list";
export const MEMBER_REMOVE = "member:remove";
export const PAIRING_OFFER = "pairing:offer";
export const PAIRING_REDEEM = "pairing:redeem";
export const PAIRING_PEEK = "pairing:peek";
export const PAIRING_PULL = "pairing:pull";

// Server to client, sent to a session's room.
export const UPLOAD_STARTED = "upload:started";
export const UPLOAD_PROGRESS = "upload:progress";
export const FILE_READY = "file:ready";
export const FILE_DELETED = "file:deleted";
export const SESSION_UPDATED = "session:updated";
export const SESSION_ENDED = "session:ended";
export const SESSION_LINK_REPLACED = "session:link_replaced";
export const MEMBERS_UPDATED = "members:updated";

// Server to client, sent to every connection of one device.
export const SESSION_REMOVED = "session:removed";
export const PAIRING_OFFERED = "pairing:offered";
export const PAIRING_PULLED = "pairing:pulled";
export const ACCOUNT_SIGNED_OUT = "account:signed_out";

// Server to client, sent to every connection of one server process when it
// may have missed room events (its Redis connection came back).
export const SESSION_RESYNC = "session:resync";
