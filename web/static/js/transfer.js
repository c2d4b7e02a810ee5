// One file's upload: chunks by HTTP PUT at the committed offset, one in
// flight at a time, then upload:finish, with retries and resumes on the way.

import { putChunk } from "./api.js";
import { clientError, isRetryable } from "./errors.js";
import { UPLOAD_FINISH, UPLOAD_OFFSET } from "./events.js";

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30000;
// upload_busy: another server process has the file's write claim. A dead
// process's claim goes stale after 20 s (CLAIM_STALE_S in server/claims.py),
// and a live one whose client vanished keeps it until the chunk's body sends
// nothing for chunk_idle_timeout_s (30 s by default). Two minutes covers both
// with room to spare; the waits stay short so the upload resumes soon after.
const BUSY_LIMIT_MS = 120000;
const MAX_BUSY_RETRY_MS = 5000;
// After upload_busy the next PUT is mostly rejected with upload_busy at once,
// so the row shows "waiting" until a PUT has run this long, not flickering.
const SHOW_SENDING_AFTER_MS = 1000;

function retryDelayMs(failures, error) {
  const exponential = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (failures - 1));
  // Jitter spreads the retries of many files and devices after an outage.
  const delay = exponential * (0.5 + Math.random() / 2);
  const serverWait = (Number(error.fields.retry_after_s) || 0) * 1000;
  return Math.max(delay, serverWait);
}

function busyDelayMs(attempts, error) {
  const serverWait = (Number(error.fields.retry_after_s) || 1) * 1000;
  const backoff = Math.min(MAX_BUSY_RETRY_MS, serverWait * 1.5 ** (attempts - 1));
  return Math.max(serverWait, backoff * (0.75 + Math.random() / 4));
}

// The chunk goes out as a Blob slice: reading it into an ArrayBuffer first
// copied every byte once more in the page and cut throughput against a
// plain sink from 350 to 224 MB/s (bench/upload_browser.py).
async function sendSlice(file, fileId, start, end, signal) {
  try {
    return await putChunk(fileId, start, file.slice(start, end), signal);
  } catch (error) {
    if (error.code === "network_error" && !(await isReadable(file, start, end))) {
      // The file was moved, changed or lost its permission since it was
      // picked, which fetch() reports as a network error.
      throw clientError("file_unreadable");
    }
    throw error;
  }
}

async function isReadable(file, start, end) {
  try {
    await file.slice(start, Math.min(end, start + 1)).arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

/**
 * An upload of `file` to the declared file `fileId`.
 * `status` is "queued", "sending", "retrying", "waiting" (another server
 * process is writing the file), "finishing", "complete", "failed" or
 * "stopped". `onChange(transfer)` runs after each change.
 */
export class Transfer {
  constructor({ connection, file, name, fileId, offset, chunkBytes, onChange }) {
    this.connection = connection;
    this.file = file;
    this.name = name;
    this.fileId = fileId;
    this.size = file.size;
    this.offset = offset;
    this.chunkBytes = chunkBytes;
    this.onChange = onChange;
    this.status = "queued";
    this.error = null;
    this.failures = 0;
    // When the first upload_busy of the current wait came, or null.
    this.busySince = null;
    this.busyAttempts = 0;
    this.stopReason = null;
    this.controller = null;
    this.wake = () => {};
  }

  setStatus(status, error = null) {
    this.status = status;
    this.error = error;
    this.onChange(this);
  }

  /** Stop at once, so that `run` rejects with `reason`. */
  stop(reason) {
    if (this.stopReason) {
      return;
    }
    this.stopReason = reason;
    this.controller?.abort();
    this.wake();
    this.setStatus("stopped", reason);
  }

  throwIfStopped() {
    if (this.stopReason) {
      throw this.stopReason;
    }
  }

  /** Upload every byte and finish. Resolves to the File, or null when unknown. */
  async run() {
    this.setStatus("sending");
    let askOffset = false;
    for (;;) {
      this.throwIfStopped();
      try {
        if (askOffset && (await this.refreshOffset()) === "complete") {
          return null;
        }
        askOffset = false;
        await this.sendChunks();
        return await this.finish();
      } catch (error) {
        this.throwIfStopped();
        askOffset = await this.recover(error);
      }
    }
  }

  async sendChunks() {
    while (this.offset < this.size) {
      const end = Math.min(this.size, this.offset + this.chunkBytes);
      this.throwIfStopped();
      this.controller = new AbortController();
      const signal = this.controller.signal;
      const sending = sendSlice(this.file, this.fileId, this.offset, end, signal);
      const committed = await this.showSendingLater(sending);
      if (!(committed > this.offset && committed <= this.size)) {
        throw clientError("unexpected_response");
      }
      this.offset = committed;
      this.failures = 0;
      this.busySince = null;
      this.busyAttempts = 0;
      this.setStatus("sending");
    }
  }

  /** Await a PUT; while waiting after upload_busy, say "sending" only if it runs long. */
  async showSendingLater(sending) {
    if (this.status !== "waiting") {
      return sending;
    }
    const timer = setTimeout(() => {
      if (this.status === "waiting") {
        this.setStatus("sending");
      }
    }, SHOW_SENDING_AFTER_MS);
    try {
      return await sending;
    } finally {
      clearTimeout(timer);
    }
  }

  async finish() {
    this.setStatus("finishing");
    try {
      const ack = await this.connection.request(UPLOAD_FINISH, { file_id: this.fileId });
      return ack.file;
    } catch (error) {
      // An earlier finish whose acknowledgement was lost already succeeded.
      if (error.code === "upload_not_active" && error.fields.state === "complete") {
        return null;
      }
      throw error;
    }
  }

  /** Set the offset from the server and return the file's state. */
  async refreshOffset() {
    const ack = await this.connection.request(UPLOAD_OFFSET, { file_id: this.fileId });
    if (ack.state !== "uploading" && ack.state !== "complete") {
      throw clientError("upload_not_active", { state: ack.state });
    }
    this.offset = ack.offset;
    this.setStatus(this.status === "waiting" ? "waiting" : "sending");
    return ack.state;
  }

  /**
   * Adjust after `error` so the loop can go on, or rethrow it.
   * Returns true when the offset must be asked again before sending.
   */
  async recover(error) {
    const code = error.code;
    if (code === "offset_mismatch" || code === "upload_incomplete") {
      return this.moveTo(error);
    }
    const maxBytes = error.fields?.max_bytes;
    if (code === "chunk_too_large" && maxBytes > 0 && maxBytes < this.chunkBytes) {
      this.chunkBytes = maxBytes;
      return false;
    }
    if (code === "upload_busy") {
      return this.waitWhileBusy(error);
    }
    if (!isRetryable(error)) {
      throw error;
    }
    this.failures += 1;
    this.setStatus("retrying", error);
    await this.sleep(retryDelayMs(this.failures, error));
    return true;
  }

  /** Wait for another process's claim to end; fail after BUSY_LIMIT_MS. */
  async waitWhileBusy(error) {
    this.busySince ??= Date.now();
    if (Date.now() - this.busySince > BUSY_LIMIT_MS) {
      throw error;
    }
    this.busyAttempts += 1;
    this.setStatus("waiting", error);
    await this.sleep(busyDelayMs(this.busyAttempts, error));
    return true;
  }

  moveTo(error) {
    const offset = error.fields.offset;
    // The same offset again would resend the same rejected chunk forever.
    if (!Number.isInteger(offset) || offset === this.offset || offset > this.size) {
      throw error;
    }
    this.offset = offset;
    return false;
  }

  sleep(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
