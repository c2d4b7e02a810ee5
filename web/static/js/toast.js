// Short messages at the bottom of the screen: errors and confirmations.

import { IDS, TEST_IDS, el } from "./dom.js";
import { describeError } from "./errors.js";
import { t } from "./i18n.js";

const ERROR_VISIBLE_MS = 12000;
const INFO_VISIBLE_MS = 3000;

function container() {
  return document.getElementById(IDS.toasts);
}

function findExisting(text) {
  for (const node of container().children) {
    if (node.dataset.text === text) {
      return node;
    }
  }
  return null;
}

function dismissLater(node, visibleMs) {
  clearTimeout(Number(node.dataset.timer));
  node.dataset.timer = String(setTimeout(() => node.remove(), visibleMs));
}

function show(text, { kind, testid, role, visibleMs }) {
  // A repeated message, such as one per retry, restarts the timer of the
  // toast already on screen.
  const existing = findExisting(text);
  if (existing) {
    dismissLater(existing, visibleMs);
    return;
  }
  const node = el(
    "div",
    { class: `toast toast-${kind}`, role, testid },
    el("p", { class: "toast-text", text }),
    el("button", {
      type: "button",
      class: "toast-close",
      "aria-label": t("toast.close"),
      text: "×",
      on: { click: () => node.remove() },
    }),
  );
  node.dataset.text = text;
  container().append(node);
  dismissLater(node, visibleMs);
}

/** Show an error as a translated message, optionally after a subject. */
export function showError(error, subject = "") {
  const message = describeError(error);
  const text = subject ? t("toast.subject", { subject, message }) : message;
  show(text, {
    kind: "error",
    testid: TEST_IDS.errorMessage,
    role: "alert",
    visibleMs: ERROR_VISIBLE_MS,
  });
}

/** Remove every error on screen, before a new attempt that may report its own. */
export function clearErrors() {
  for (const node of [...container().querySelectorAll(".toast-error")]) {
    clearTimeout(Number(node.dataset.timer));
    node.remove();
  }
}

/** Show a short confirmation such as "Link copied". */
export function showInfo(text) {
  show(text, { kind: "info", testid: null, role: "status", visibleMs: INFO_VISIBLE_MS });
}
