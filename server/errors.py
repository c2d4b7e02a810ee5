"""One error model: exceptions that carry a code, an HTTP status and fields.

Every error leaves the server in one shape, `{ok: false, code, message, ...}`,
whether as an HTTP JSON body or as a Socket.IO acknowledgement.
"""

from typing import Any


class DropSpaceError(Exception):
    """An error a client caused or can act on."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields

    def body(self) -> dict[str, Any]:
        """Return the error as the JSON object clients receive."""
        return {"ok": False, "code": self.code, "message": self.message, **self.fields}


class BadRequest(DropSpaceError):
    status = 400
    code = "bad_request"


class InvalidName(DropSpaceError):
    status = 400
    code = "invalid_name"


class InvalidSize(DropSpaceError):
    status = 400
    code = "invalid_size"


class InvalidLifetime(DropSpaceError):
    status = 400
    code = "invalid_lifetime"


class InvalidTitle(DropSpaceError):
    status = 400
    code = "invalid_title"


class InvalidUsername(DropSpaceError):
    status = 400
    code = "invalid_username"


class InvalidPassword(DropSpaceError):
    status = 400
    code = "invalid_password"


class InvalidLabel(DropSpaceError):
    status = 400
    code = "invalid_label"


class InvalidCredentials(DropSpaceError):
    status = 401
    code = "invalid_credentials"


class DeviceRequired(DropSpaceError):
    status = 401
    code = "device_required"


class AccountRequired(DropSpaceError):
    status = 401
    code = "account_required"


class NotMember(DropSpaceError):
    status = 403
    code = "not_member"


class NotAllowed(DropSpaceError):
    status = 403
    code = "not_allowed"


class OriginNotAllowed(DropSpaceError):
    status = 403
    code = "origin_not_allowed"


class SignupClosed(DropSpaceError):
    status = 403
    code = "signup_closed"


class GuestsDisabled(DropSpaceError):
    status = 403
    code = "guests_disabled"


class NotFound(DropSpaceError):
    status = 404
    code = "not_found"


class OffsetMismatch(DropSpaceError):
    status = 409
    code = "offset_mismatch"


class UsernameTaken(DropSpaceError):
    status = 409
    code = "username_taken"


class NotGuest(DropSpaceError):
    status = 409
    code = "not_guest"


class UploadIncomplete(DropSpaceError):
    status = 409
    code = "upload_incomplete"


class UploadNotActive(DropSpaceError):
    status = 409
    code = "upload_not_active"


class UploadBusy(DropSpaceError):
    status = 409
    code = "upload_busy"


class TokenReplaced(DropSpaceError):
    """A request with the device token that a sign-in or guest start replaced."""

    status = 401
    code = "token_replaced"


class SessionEnded(DropSpaceError):
    status = 410
    code = "session_ended"


class ChunkTimeout(DropSpaceError):
    status = 408
    code = "chunk_timeout"


class LengthRequired(DropSpaceError):
    status = 411
    code = "length_required"


class ChunkTooLarge(DropSpaceError):
    status = 413
    code = "chunk_too_large"


class SizeExceeded(DropSpaceError):
    status = 413
    code = "size_exceeded"


class CapacityExceeded(DropSpaceError):
    status = 413
    code = "capacity_exceeded"


class FileLimit(DropSpaceError):
    status = 413
    code = "file_limit"


class ChecksumMismatch(DropSpaceError):
    status = 422
    code = "checksum_mismatch"


class SessionLimit(DropSpaceError):
    status = 429
    code = "session_limit"


class BodyTooLarge(DropSpaceError):
    status = 413
    code = "body_too_large"


class RateLimited(DropSpaceError):
    status = 429
    code = "rate_limited"


class InternalError(DropSpaceError):
    status = 500
    code = "internal_error"


class ServiceUnavailable(DropSpaceError):
    status = 503
    code = "service_unavailable"


# An estimate of how soon a restarted database server accepts connections
# again. Caddy's own 503, when no app process responds, uses the same wait in
# the Caddyfile's handle_errors block.
DATABASE_RETRY_AFTER_S = 5


def database_unavailable() -> ServiceUnavailable:
    """Return the error for a request or event that failed on the database."""
    return ServiceUnavailable(
        "The database is unavailable; retry in a few seconds.",
        retry_after_s=DATABASE_RETRY_AFTER_S,
    )


class StorageUnavailable(DropSpaceError):
    status = 503
    code = "storage_unavailable"


# Seconds a client waits before it retries while the files folder is
# unavailable. An operator has to mount the storage, which takes longer than a
# database restart.
STORAGE_RETRY_AFTER_S = 30


def storage_unavailable() -> StorageUnavailable:
    """Return the error for a request that needs the files folder while it is away.

    The message leaves out the folder's path, which only the operator needs
    and the server log names.
    """
    return StorageUnavailable(
        "File storage is unavailable: the server's files folder is not mounted "
        "or is not DropSpace's. Ask the server's operator to check the storage, "
        "then retry.",
        retry_after_s=STORAGE_RETRY_AFTER_S,
    )


class CodeRejected(DropSpaceError):
    """A pairing code or device link that is wrong, expired or used.

    The three cases share one message, so a response tells a guesser nothing
    about which codes exist.
    """

    status = 404
    code = "code_rejected"
