// The upload manager of one session page: declares picked files, resumes
// the ones this browser started before, and runs up to three transfers.

import { clientError } from "./errors.js";
import { UPLOAD_CANCEL, UPLOAD_OFFSET, UPLOAD_START } from "./events.js";
import { forgetUpload, recallUpload, rememberUpload } from "./resume.js";
import { Transfer } from "./transfer.js";

const PARALLEL_FILES = 3;
const MAX_FILES_PER_START = 1000;
// Used only if the join acknowledgement carries no usable chunk size.
const FALLBACK_CHUNK_BYTES = 4 * 1024 * 1024;

// After these errors the server has no partial file left to resume.
const GONE_CODES = new Set([
  "not_found",
  "upload_not_active",
  "checksum_mismatch",
  "session_ended",
  "cancelled",
]);

/** Return the announced HTTP chunk size, capped by the server's maximum. */
function httpChunkBytes(limits) {
  const sizes = [limits?.http_chunk_bytes, limits?.max_http_chunk_bytes].filter(
    (size) => Number.isInteger(size) && size > 0,
  );
  return sizes.length > 0 ? Math.min(...sizes) : FALLBACK_CHUNK_BYTES;
}

/**
 * `limits` is the Limits object of the session:join acknowledgement.
 * Hooks: `onDeclared(file)` for each new File, `onChange(transfer)` on
 * progress, `onComplete(transfer, file)` (file may be null),
 * `onFailed(name, error)` for uploads that stopped with an error.
 */
export class UploadManager {
  constructor({ connection, sessionId, limits, hooks }) {
    this.connection = connection;
    this.sessionId = sessionId;
    this.chunkBytes = httpChunkBytes(limits);
    this.hooks = hooks;
    this.transfers = new Map();
    // Files this browser declared or resumed, in case a room event's File
    // does not say whether it is this device's own.
    this.ownFileIds = new Set();
    this.queue = [];
    this.running = 0;
    this.closed = false;
  }

  /** Tell whether this browser is sending or about to send bytes. */
  isBusy() {
    return this.transfers.size > 0;
  }

  transferOf(fileId) {
    return this.transfers.get(fileId) ?? null;
  }

  declared(fileId) {
    return this.ownFileIds.has(fileId);
  }

  /** Upload `picked` ({file, name} items), resuming known ones. */
  async add(picked) {
    if (this.closed) {
      return;
    }
    const fresh = [];
    for (const item of picked) {
      if (!(await this.resume(item))) {
        fresh.push(item);
      }
    }
    for (let i = 0; i < fresh.length; i += MAX_FILES_PER_START) {
      await this.declare(fresh.slice(i, i + MAX_FILES_PER_START));
    }
  }

  async resume({ file, name }) {
    const fileId = recallUpload(this.sessionId, name, file);
    if (!fileId || this.transfers.has(fileId)) {
      return false;
    }
    try {
      const ack = await this.connection.request(UPLOAD_OFFSET, { file_id: fileId });
      if (ack.state === "uploading" && ack.size === file.size) {
        this.enqueue({ file, name, fileId, offset: ack.offset });
        return true;
      }
    } catch {
      // An unknown or ended upload: start this file anew.
    }
    forgetUpload(fileId);
    return false;
  }

  async declare(items) {
    const declared = items.map(({ file, name }) => {
      const entry = { name, size: file.size };
      if (file.type) {
        entry.type = file.type;
      }
      return entry;
    });
    let ack;
    try {
      ack = await this.connection.request(UPLOAD_START, {
        session_id: this.sessionId,
        files: declared,
      });
    } catch (error) {
      this.hooks.onFailed(items.length === 1 ? items[0].name : "", error);
      return;
    }
    items.forEach((item, index) => this.accept(item, ack.files[index]));
  }

  accept({ file, name }, entry) {
    if (!entry || entry.ok === false) {
      const error = entry ? clientError(entry.code, entry) : clientError("unexpected_response");
      this.hooks.onFailed(name, error);
      return;
    }
    rememberUpload(this.sessionId, name, file, entry.id);
    this.ownFileIds.add(entry.id);
    this.hooks.onDeclared(entry);
    this.enqueue({ file, name, fileId: entry.id, offset: entry.offset ?? 0 });
  }

  enqueue({ file, name, fileId, offset }) {
    if (this.closed) {
      return;
    }
    const transfer = new Transfer({
      connection: this.connection,
      file,
      name,
      fileId,
      offset,
      chunkBytes: this.chunkBytes,
      onChange: (changed) => this.hooks.onChange(changed),
    });
    this.transfers.set(fileId, transfer);
    this.ownFileIds.add(fileId);
    this.queue.push(transfer);
    this.hooks.onChange(transfer);
    this.pump();
  }

  pump() {
    while (this.running < PARALLEL_FILES && this.queue.length > 0) {
      this.execute(this.queue.shift());
    }
  }

  async execute(transfer) {
    this.running += 1;
    try {
      const file = await transfer.run();
      forgetUpload(transfer.fileId);
      transfer.setStatus("complete");
      this.hooks.onComplete(transfer, file);
    } catch (error) {
      this.settleFailure(transfer, error);
    } finally {
      this.running -= 1;
      this.transfers.delete(transfer.fileId);
      this.pump();
    }
  }

  settleFailure(transfer, error) {
    if (GONE_CODES.has(error.code)) {
      forgetUpload(transfer.fileId);
    }
    if (transfer.stopReason === error) {
      return;
    }
    transfer.setStatus("failed", error);
    this.hooks.onFailed(transfer.name, error);
  }

  /** Stop one upload here and delete its partial file on the server. */
  async cancel(fileId) {
    this.stopOne(fileId, clientError("cancelled"));
    forgetUpload(fileId);
    await this.connection.request(UPLOAD_CANCEL, { file_id: fileId });
  }

  /** Stop the local transfer of a file, if any, without telling the server. */
  stopOne(fileId, reason) {
    const transfer = this.transfers.get(fileId);
    if (!transfer) {
      return;
    }
    this.queue = this.queue.filter((queued) => queued !== transfer);
    this.transfers.delete(fileId);
    transfer.stop(reason);
  }

  /** Stop every transfer for good and return how many were stopped. */
  close(reason) {
    this.closed = true;
    const stopped = this.transfers.size;
    for (const fileId of [...this.transfers.keys()]) {
      this.stopOne(fileId, reason);
    }
    return stopped;
  }
}
