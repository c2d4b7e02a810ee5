// One error type for HTTP responses, Socket.IO acknowledgements and local
// failures, and its translation into a readable message.

import { formatBytes, formatDuration } from "./format.js";
import { hasMessage, t } from "./i18n.js";

/**
 * An error in the protocol's shape `{ok: false, code, message, ...fields}`.
 * The codes the client raises itself, such as network_error, timeout or
 * file_unreadable, are not in the protocol's table of server codes.
 */
export class ApiError extends Error {
  constructor(body, status = 0) {
    super(body.message || body.code);
    this.code = body.code;
    this.status = status;
    this.fields = body;
  }
}

/** Build an error the client raised itself, with optional extra fields. */
export function clientError(code, fields = {}) {
  return new ApiError({ ok: false, code, message: "", ...fields });
}

/** Return the error in a response body or acknowledgement, or null on success. */
export function bodyError(body, status = 0) {
  if (body && body.ok === true) {
    return null;
  }
  if (body && typeof body.code === "string") {
    return new ApiError(body, status);
  }
  return clientError("unexpected_response", { status });
}

/** Tell whether the same request may succeed later without any change. */
export function isRetryable(error) {
  if (!(error instanceof ApiError)) {
    return false;
  }
  const transient = [
    "network_error",
    "timeout",
    "service_unavailable",
    "storage_unavailable",
    "rate_limited",
    "chunk_timeout",
  ];
  return transient.includes(error.code) || error.status >= 500;
}

// Values from the error's extra fields, formatted for the message templates.
function messageParams(fields) {
  return {
    ...fields,
    free: formatBytes(fields.free_bytes),
    max_bytes: formatBytes(fields.max_bytes),
    max_lifetime: formatDuration(fields.max_lifetime_s),
    retry_after: formatDuration(fields.retry_after_s),
  };
}

// A pairing code that is not digits gets its own message, which describes
// a valid code; the server marks the error with `code_digits`.
function errorKey(error) {
  if (error.code === "bad_request" && error.fields.code_digits) {
    return "error.bad_code";
  }
  return `error.${error.code}`;
}

/** Translate an error for people. An unknown code falls back to its message. */
export function describeError(error) {
  if (!(error instanceof ApiError)) {
    return t("error.unknown");
  }
  const key = errorKey(error);
  // Some codes read differently for one field, such as a wrong current
  // password beside a wrong username or password.
  const fieldKey = `error.${error.code}.${error.fields.field}`;
  if (typeof error.fields.field === "string" && hasMessage(fieldKey)) {
    return t(fieldKey, messageParams(error.fields));
  }
  if (hasMessage(key)) {
    return t(key, messageParams(error.fields));
  }
  return error.fields.message || t("error.unknown");
}
