// The session page's elements, built once per render and filled by
// session.js.

import { TEST_IDS, el } from "./dom.js";
import { t } from "./i18n.js";

function fact(label, ...values) {
  return el("div", { class: "fact" }, el("dt", { text: label }), el("dd", {}, ...values));
}

function buildHeader() {
  const title = el("h1", { class: "session-title", text: t("session.joining") });
  const countdown = el("time", {
    class: "countdown",
    role: "timer",
    testid: TEST_IDS.countdown,
    text: "–",
  });
  const capacity = el("span", { class: "capacity-text", testid: TEST_IDS.capacity, text: "–" });
  const capacityMeter = el("meter", {
    class: "capacity-meter",
    min: 0,
    max: 1,
    value: 0,
    "aria-label": t("session.capacity"),
  });
  const deleteSession = el("button", {
    type: "button",
    class: "button button-danger",
    testid: TEST_IDS.deleteSession,
    hidden: true,
    text: t("session.delete"),
  });
  const header = el(
    "header",
    { class: "session-header" },
    title,
    el(
      "dl",
      { class: "session-facts" },
      fact(t("session.timeLeft"), countdown),
      fact(t("session.capacity"), capacity, capacityMeter),
    ),
    deleteSession,
  );
  return { header, title, countdown, capacity, capacityMeter, deleteSession };
}

function pickButton(input, label, primary) {
  const labelClass = primary ? "button button-primary" : "button";
  return [input, el("label", { for: input.id, class: labelClass, text: label })];
}

function buildDropZone() {
  const fileInput = el("input", {
    type: "file",
    id: "file-input",
    class: "visually-hidden",
    multiple: true,
    testid: TEST_IDS.fileInput,
  });
  const folderInput = el("input", {
    type: "file",
    id: "folder-input",
    class: "visually-hidden",
    webkitdirectory: true,
    testid: TEST_IDS.folderInput,
  });
  const folderSupported = "webkitdirectory" in folderInput;
  const dropZone = el(
    "section",
    { class: "drop-zone", testid: TEST_IDS.dropZone, "aria-label": t("drop.label") },
    el("p", { class: "drop-hint", text: t("drop.hint") }),
    el(
      "div",
      { class: "pick-buttons" },
      pickButton(fileInput, t("drop.chooseFiles"), true),
      folderSupported ? pickButton(folderInput, t("drop.chooseFolder"), false) : null,
    ),
  );
  return { dropZone, fileInput, folderInput };
}

function buildFiles() {
  const fileList = el("ul", { class: "file-list", testid: TEST_IDS.fileList });
  const emptyNote = el("p", { class: "empty-note", text: t("files.empty") });
  const section = el(
    "section",
    { class: "files", "aria-labelledby": "files-heading" },
    el("h2", { id: "files-heading", text: t("files.heading") }),
    emptyNote,
    fileList,
  );
  return { filesSection: section, fileList, emptyNote };
}

function buildShare() {
  const qr = el("img", {
    class: "qr",
    testid: TEST_IDS.qr,
    alt: t("share.qrAlt"),
    width: 200,
    height: 200,
    hidden: true,
  });
  // A code that fails to load would show as a broken image.
  qr.addEventListener("error", () => {
    qr.hidden = true;
  });
  const joinLink = el("input", {
    type: "text",
    class: "join-link",
    readonly: true,
    testid: TEST_IDS.joinLink,
    "aria-label": t("share.linkLabel"),
  });
  const copyButton = el("button", {
    type: "button",
    class: "button",
    testid: TEST_IDS.copyLink,
    text: t("share.copy"),
  });
  const panel = el(
    "aside",
    { class: "share-panel", "aria-labelledby": "share-heading" },
    el("h2", { id: "share-heading", text: t("share.heading") }),
    el("p", { class: "hint", text: t("share.hint") }),
    qr,
    el("div", { class: "link-row" }, joinLink, copyButton),
  );
  return { sharePanel: panel, qr, joinLink, copyButton };
}

function buildNotices() {
  const problem = el("div", {
    class: "notice notice-error",
    role: "alert",
    testid: TEST_IDS.sessionProblem,
    hidden: true,
  });
  const endedText = el("p", { class: "notice-text" });
  const ended = el(
    "div",
    { class: "notice notice-ended", role: "status", testid: TEST_IDS.sessionEnded, hidden: true },
    endedText,
    el("a", { href: "/", class: "button", "data-route": true, text: t("nav.start") }),
  );
  return { problem, ended, endedText };
}

/**
 * Build the session page; returns the root and every element it fills.
 * `hasAccount` picks the back link: the account's sessions or the start.
 */
export function buildSessionLayout(hasAccount) {
  const parts = {
    ...buildHeader(),
    ...buildDropZone(),
    ...buildFiles(),
    ...buildShare(),
    ...buildNotices(),
  };
  const main = el("div", { class: "session-main" }, parts.dropZone, parts.filesSection);
  parts.grid = el("div", { class: "session-grid" }, main, parts.sharePanel);
  parts.root = el(
    "section",
    { class: "view view-session" },
    el("a", {
      href: "/",
      class: "back-link",
      "data-route": true,
      text: t(hasAccount ? "nav.back" : "nav.backToStart"),
    }),
    parts.header,
    parts.problem,
    parts.ended,
    parts.grid,
  );
  return parts;
}
