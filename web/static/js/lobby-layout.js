// The lobby's elements: the guest start, the account's sessions and the
// create-session form.

import { TEST_IDS, el } from "./dom.js";
import { formatBytes, formatDuration, formatTimeLeft } from "./format.js";
import { t } from "./i18n.js";
import { planName } from "./names.js";

/** Return the path of a join link, so the page stays on its own origin. */
export function sessionPath(session) {
  return new URL(session.join_url, window.location.href).pathname;
}

/** Build the welcome; without `onStart` the server has no guest accounts. */
export function buildWelcome(onStart) {
  const start = onStart
    ? [
        el("button", {
          type: "button",
          class: "button button-primary button-large",
          testid: TEST_IDS.startGuest,
          text: t("lobby.startGuest"),
          on: { click: onStart },
        }),
        el("p", { class: "hint", text: t("lobby.guestHint") }),
      ]
    : [
        el("a", {
          href: "/signin",
          class: "button button-primary button-large",
          "data-route": true,
          text: t("nav.signIn"),
        }),
      ];
  return el(
    "section",
    { class: "view view-lobby" },
    el("h1", { text: t("lobby.welcomeHeading") }),
    el("p", { class: "lead", text: t("lobby.welcomeText") }),
    ...start,
    el("p", { class: "hint", text: t("lobby.joinHint") }),
  );
}

function describeAccount(account, clock) {
  if (!account.is_guest) {
    return t("lobby.signedInAs", { name: account.username ?? "" });
  }
  if (!account.expires_at) {
    return t("lobby.guest");
  }
  const left = formatTimeLeft((account.expires_at - clock.now()) / 1000);
  return t("lobby.guestExpires", { left });
}

function describePlan(plan) {
  return t("lobby.plan", {
    name: planName(plan.name),
    sessions: plan.max_sessions,
    capacity: formatBytes(plan.capacity_bytes),
    lifetime: formatDuration(plan.max_lifetime_s),
  });
}

function field(input, labelText, hintText) {
  return el(
    "div",
    { class: "field" },
    el("label", { for: input.id, text: labelText }),
    input,
    hintText ? el("p", { class: "hint", id: `${input.id}-hint`, text: hintText }) : null,
  );
}

/**
 * Build the create-session form, which submits through
 * `onCreate({title, minutes, submit})`.
 */
export function buildCreateForm(plan, onCreate) {
  const maxMinutes = Math.max(1, Math.floor(plan.max_lifetime_s / 60));
  const minMinutes = Math.min(maxMinutes, Math.max(1, Math.ceil(plan.min_lifetime_s / 60)));
  const title = el("input", {
    type: "text",
    id: "session-title",
    maxlength: 200,
    autocomplete: "off",
    testid: TEST_IDS.sessionTitleInput,
  });
  const lifetime = el("input", {
    type: "number",
    id: "session-lifetime",
    min: minMinutes,
    max: maxMinutes,
    step: 1,
    value: String(maxMinutes),
    required: true,
    inputmode: "numeric",
    "aria-describedby": "session-lifetime-hint",
    testid: TEST_IDS.sessionLifetimeInput,
  });
  const submit = el("button", {
    type: "submit",
    class: "button button-primary",
    testid: TEST_IDS.createSession,
    text: t("lobby.create"),
  });
  const form = el(
    "form",
    { class: "create-form", "aria-labelledby": "create-heading" },
    el("h2", { id: "create-heading", text: t("lobby.createHeading") }),
    field(title, t("lobby.titleLabel"), ""),
    field(lifetime, t("lobby.lifetimeLabel"), t("lobby.lifetimeHint", { max: maxMinutes })),
    submit,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!form.reportValidity()) {
      return;
    }
    onCreate({ title: title.value.trim(), minutes: Number(lifetime.value), submit });
  });
  return form;
}

/** Build the account's part of the lobby around an empty session list. */
export function buildAccountLobby({ account, plan, clock }, createForm) {
  const list = el("ul", { class: "session-list", testid: TEST_IDS.sessionList });
  const emptyNote = el("p", { class: "empty-note", text: t("lobby.noSessions") });
  const root = el(
    "section",
    { class: "view view-lobby" },
    el("h1", { text: t("lobby.heading") }),
    el("p", { class: "account-line", text: describeAccount(account, clock) }),
    plan ? el("p", { class: "hint", text: describePlan(plan) }) : null,
    el(
      "div",
      { class: "lobby-grid" },
      el(
        "section",
        { class: "sessions", "aria-labelledby": "sessions-heading" },
        el("h2", { id: "sessions-heading", text: t("lobby.sessionsHeading") }),
        emptyNote,
        list,
      ),
      createForm,
    ),
  );
  return { root, list, emptyNote };
}

/** Build one session's entry. The caller fills its countdown. */
export function buildSessionItem(session) {
  const countdown = el("time", { class: "session-countdown", role: "timer" });
  const used = t("session.capacityOf", {
    used: formatBytes(session.used_bytes),
    total: formatBytes(session.capacity_bytes),
  });
  const item = el(
    "li",
    { class: "session-item", "data-session-id": session.id },
    el(
      "a",
      { href: sessionPath(session), class: "session-link", "data-route": true },
      el("span", { class: "session-name", text: session.title || t("session.untitled") }),
      el("span", { class: "session-meta" }, countdown, " · ", used),
    ),
  );
  return { item, countdown };
}
