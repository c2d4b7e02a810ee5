// One file's upload: chunks by HTTP PUT at the committed offset, one in
// flight at a time, then upload:finish, with retries and resumes on the way.

import { putChunk } from "./api.js";
import { clientError, isRetryable } from "./errors.js";
import { UPLOAD_FINISH, UPLOAD_OFFSET } from "./events.js";

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30000;

function retryDelayMs(failures, error) {
  const exponential = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (failures - 1));
  // Jitter spreads the retries of many files and devices after an outage.
  const delay = exponential * (0.5 + Math.random() / 2);
  const serverWait = (Number(error.fields.retry_after_s) || 0) * 1000;
  return Math.max(delay, serverWait);
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
 * `status` is "queued", "sending", "retrying", "finishing", "complete",
 * "failed" or "stopped". `onChange(transfer)` runs after each change.
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
      const committed = await sendSlice(this.file, this.fileId, this.offset, end, signal);
      if (!(committed > this.offset && committed <= this.size)) {
        throw clientError("unexpected_response");
      }
      this.offset = committed;
      this.failures = 0;
      this.setStatus("sending");
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
    this.setStatus("sending");
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
    if (!isRetryable(error)) {
      throw error;
    }
    this.failures += 1;
    this.setStatus("retrying", error);
    await this.sleep(retryDelayMs(this.failures, error));
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
