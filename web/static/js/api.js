// Fetch wrappers for the JSON API. Every failure is thrown as an ApiError.

import { bodyError, clientError } from "./errors.js";

async function readBody(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // A proxy's HTML error page or an empty body: keep only the status.
    if (!response.ok) {
      throw clientError("http_error", { status: response.status });
    }
  }
  const error = bodyError(body, response.status);
  if (error) {
    throw error;
  }
  return body;
}

export async function send(method, path, { headers = {}, ...init } = {}) {
  let response;
  try {
    response = await fetch(path, {
      ...init,
      method,
      credentials: "same-origin",
      headers: { Accept: "application/json", ...headers },
    });
  } catch (error) {
    if (error.name === "AbortError") {
      throw error;
    }
    throw clientError("network_error");
  }
  return readBody(response);
}

export function sendJson(method, path, body) {
  return send(method, path, {
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

export const getMe = () => send("GET", "/api/me");
export const startGuest = () => send("POST", "/api/guest");
export const listSessions = () => send("GET", "/api/sessions");
export const createSession = (fields) => sendJson("POST", "/api/sessions", fields);

export function deleteSession(sessionId) {
  return send("DELETE", `/api/sessions/${encodeURIComponent(sessionId)}`);
}

export function deleteFile(fileId) {
  return send("DELETE", `/api/files/${encodeURIComponent(fileId)}`);
}

/** Return the URL of a session's join QR code (members only). */
export function qrUrl(sessionId) {
  return `/api/sessions/${encodeURIComponent(sessionId)}/qr.svg`;
}

/** Return the download URL of a complete file. */
export function fileUrl(fileId) {
  return `/api/files/${encodeURIComponent(fileId)}`;
}

/** Store one chunk at `offset` and resolve to the new committed offset. */
export async function putChunk(fileId, offset, bytes, signal) {
  const path = `${fileUrl(fileId)}?offset=${offset}`;
  const body = await send("PUT", path, {
    headers: { "Content-Type": "application/octet-stream" },
    body: bytes,
    signal,
  });
  return body.offset;
}

/** Return the URL of this device's lobby QR code; `version` defeats caches. */
export function pairingQrUrl(version) {
  return `/api/pairing/qr.svg?v=${encodeURIComponent(version)}`;
}
