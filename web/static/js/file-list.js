// The session's file list: one row per File, updated in place as room
// events and local transfers report progress.

import { fileUrl } from "./api.js";
import { armThenRun } from "./controls.js";
import { TEST_IDS, el } from "./dom.js";
import { describeError } from "./errors.js";
import { formatBytes, formatPercent, percentOf } from "./format.js";
import { t } from "./i18n.js";

function uploaderText(file, own) {
  return own ? t("files.byYou") : t("files.by", { label: file.uploader_label || "?" });
}

function statusText(transfer, own) {
  if (!transfer) {
    return own ? t("status.paused") : t("status.uploading");
  }
  if (transfer.status === "failed" || transfer.status === "retrying") {
    const message = describeError(transfer.error);
    return t(`status.${transfer.status}`, { message });
  }
  return t(`status.${transfer.status}`);
}

function rowState(file, transfer) {
  return transfer?.status === "failed" ? "failed" : file.state;
}

/**
 * Hooks: `transferOf(fileId)` returns this browser's Transfer or null,
 * `isOwn(file)` returns whether this device uploaded the file, and
 * `canDelete(file)` and `onDelete(file)` drive the delete button.
 */
export class FileList {
  constructor(listNode, emptyNote, hooks) {
    this.listNode = listNode;
    this.emptyNote = emptyNote;
    this.hooks = hooks;
    this.files = new Map();
    this.rows = new Map();
  }

  /** Replace every row, keeping the server's order. */
  replaceAll(files) {
    this.files.clear();
    this.rows.clear();
    this.listNode.replaceChildren();
    for (const file of files) {
      this.upsert(file);
    }
    this.updateEmptyNote();
  }

  /** Add or redraw the row of `file`. An upload's offset never moves backwards. */
  upsert(file) {
    const known = this.files.get(file.id);
    if (known && known.state === "uploading" && file.state === "uploading") {
      file = { ...file, offset: Math.max(known.offset, file.offset) };
    }
    this.files.set(file.id, file);
    const row = this.renderRow(file);
    const old = this.rows.get(file.id);
    if (old) {
      old.replaceWith(row);
    } else {
      this.listNode.append(row);
    }
    this.rows.set(file.id, row);
    this.updateEmptyNote();
  }

  /** Record a room progress event for someone's upload. */
  progress(fileId, offset) {
    const file = this.files.get(fileId);
    if (!file || file.state !== "uploading" || offset <= file.offset) {
      return;
    }
    file.offset = offset;
    this.redrawProgress(file);
  }

  /** Redraw a row after this browser's transfer of it changed. */
  transferChanged(transfer) {
    const file = this.files.get(transfer.fileId);
    if (!file || file.state !== "uploading") {
      return;
    }
    const row = this.rows.get(file.id);
    if (row.dataset.status !== transfer.status || transfer.status !== "sending") {
      this.upsert(file);
      return;
    }
    this.redrawProgress(file);
  }

  remove(fileId) {
    this.rows.get(fileId)?.remove();
    this.rows.delete(fileId);
    this.files.delete(fileId);
    this.updateEmptyNote();
  }

  get(fileId) {
    return this.files.get(fileId) ?? null;
  }

  /** Redraw every row, after the interface language changed. */
  redrawAll() {
    this.replaceAll([...this.files.values()]);
  }

  updateEmptyNote() {
    this.emptyNote.hidden = this.files.size > 0;
  }

  sentBytes(file) {
    const transfer = this.hooks.transferOf(file.id);
    return Math.max(file.offset, transfer ? transfer.offset : 0);
  }

  redrawProgress(file) {
    const row = this.rows.get(file.id);
    const bar = row?.querySelector("progress");
    if (!bar) {
      return;
    }
    const sent = this.sentBytes(file);
    bar.value = percentOf(sent, file.size);
    row.querySelector(".file-percent").textContent = formatPercent(sent, file.size);
  }

  renderRow(file) {
    const transfer = this.hooks.transferOf(file.id);
    const row = el(
      "li",
      {
        class: "file-row",
        testid: TEST_IDS.fileRow,
        "data-file-id": file.id,
        "data-state": rowState(file, transfer),
        "data-status": transfer ? transfer.status : "",
      },
      this.renderInfo(file, transfer),
      file.state === "uploading" ? this.renderProgress(file) : null,
      this.renderActions(file),
    );
    return row;
  }

  renderInfo(file, transfer) {
    const own = this.hooks.isOwn(file);
    const meta = `${formatBytes(file.size)} · ${uploaderText(file, own)}`;
    return el(
      "div",
      { class: "file-info" },
      el("span", { class: "file-name", title: file.name, text: file.name }),
      el("span", { class: "file-meta", text: meta }),
      file.state === "uploading"
        ? el("span", { class: "file-status", text: statusText(transfer, own) })
        : null,
    );
  }

  renderProgress(file) {
    const sent = this.sentBytes(file);
    return el(
      "div",
      { class: "file-progress" },
      el("progress", {
        max: 100,
        value: percentOf(sent, file.size),
        testid: TEST_IDS.uploadProgress,
        "aria-label": t("files.progressOf", { name: file.name }),
      }),
      el("span", { class: "file-percent", text: formatPercent(sent, file.size) }),
    );
  }

  renderActions(file) {
    const actions = el("div", { class: "file-actions" });
    if (file.state === "complete") {
      actions.append(
        el("a", {
          class: "button button-primary",
          href: fileUrl(file.id),
          download: file.download_name || "",
          testid: TEST_IDS.downloadLink,
          "aria-label": t("files.downloadNamed", { name: file.name }),
          text: t("files.download"),
        }),
      );
    }
    if (this.hooks.canDelete(file)) {
      const cancels = file.state === "uploading" && this.hooks.isOwn(file);
      const label = cancels ? "files.cancel" : "files.delete";
      const button = el("button", {
        type: "button",
        class: "button button-quiet",
        testid: TEST_IDS.deleteFile,
        "aria-label": t(`${label}Named`, { name: file.name }),
        text: t(label),
      });
      // A second click confirms: rows move up after a delete, so a single
      // click could land on the next file's button.
      armThenRun(button, t("session.deleteConfirm"), () => this.hooks.onDelete(file));
      actions.append(button);
    }
    return actions;
  }
}
