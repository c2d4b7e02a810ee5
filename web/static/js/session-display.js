// Fill the session page's elements from the session's state.

import { qrUrl } from "./api.js";
import { describeError } from "./errors.js";
import { formatBytes } from "./format.js";
import { t } from "./i18n.js";

const END_REASONS = new Set(["expired", "deleted", "removed"]);

/** Show the session's title, link, QR code and capacity. */
export function showSessionFacts(parts, session, ended) {
  const title = session.title || t("session.untitled");
  parts.title.textContent = title;
  document.title = t("page.title", { title });
  parts.joinLink.value = session.join_url;
  // The link is in the query too, so a replaced link loads a new image.
  const src = `${qrUrl(session.id)}?link=${encodeURIComponent(session.join_url.split("/").pop())}`;
  if (parts.qr.getAttribute("src") !== src) {
    parts.qr.src = src;
    parts.qr.hidden = false;
  }
  parts.deleteSession.hidden = !session.owner || Boolean(ended);
  showCapacity(parts, session);
}

export function showCapacity(parts, { used_bytes: used, capacity_bytes: capacity }) {
  parts.capacity.textContent = t("session.capacityOf", {
    used: formatBytes(used),
    total: formatBytes(capacity),
  });
  parts.capacityMeter.value = capacity > 0 ? Math.min(1, used / capacity) : 1;
}

/** Enable the pickers only while the session is joined and alive. */
export function showPickersEnabled(parts, enabled) {
  parts.fileInput.disabled = !enabled;
  parts.folderInput.disabled = !enabled;
  parts.dropZone.classList.toggle("is-disabled", !enabled);
}

function describeProblem(problem) {
  if (problem.code === "not_found") {
    return t("session.notFound");
  }
  // A removed device hears the reason when it opens the session again.
  return problem.fields?.removed ? t("ended.removed") : describeError(problem);
}

/** Show why the session cannot be shown, or hide the notice for null. */
export function showProblem(parts, problem, ended) {
  parts.problem.hidden = !problem;
  if (problem) {
    const message = describeProblem(problem);
    parts.problem.textContent = t("session.problem", { message });
  }
  parts.grid.hidden = Boolean(problem || ended);
}

/** Show the end notice: why the session ended and what stopped with it. */
export function showEnded(parts, { reason, stopped }) {
  const lines = [t(`ended.${END_REASONS.has(reason) ? reason : "unknown"}`)];
  if (stopped > 0) {
    lines.push(t("ended.uploadsStopped", { count: stopped }));
  }
  parts.endedText.textContent = lines.join(" ");
  parts.ended.hidden = false;
  parts.root.classList.add("is-ended");
  parts.deleteSession.hidden = true;
  parts.countdown.textContent = "0:00";
  parts.grid.hidden = true;
}
