// The session page's devices: who joined, who is online, removal by the
// owner, the box for another device's pairing code, and replacing the
// join link.

import { armThenRun } from "./controls.js";
import { TEST_IDS, el } from "./dom.js";
import * as events from "./events.js";
import { currentLang, t } from "./i18n.js";
import { deviceLabel } from "./names.js";
import "./i18n-pairing.js";
import { showError, showInfo } from "./toast.js";

function statusText(member, ownDeviceId, showJoined) {
  const parts = [t(member.online ? "members.online" : "members.offline")];
  if (member.device_id === ownDeviceId) {
    parts.push(t("members.you"));
  }
  if (member.owner) {
    parts.push(t("members.owner"));
  }
  if (showJoined) {
    parts.push(joinedText(member));
  }
  return parts.join(" · ");
}

// Three phones are all "Chrome on Android": members that share a label
// are told apart by when they joined.
function joinedText(member) {
  const joined = new Date(member.joined_at);
  const today = joined.toDateString() === new Date().toDateString();
  const format = new Intl.DateTimeFormat(currentLang(), {
    ...(today ? {} : { month: "short", day: "numeric" }),
    hour: "2-digit",
    minute: "2-digit",
  });
  return t("members.joinedAt", { time: format.format(joined) });
}

function sharedLabels(members) {
  const counts = new Map();
  for (const member of members) {
    counts.set(member.label, (counts.get(member.label) ?? 0) + 1);
  }
  return new Set([...counts].filter(([, count]) => count > 1).map(([label]) => label));
}

export class MembersPanel {
  /**
   * `view` is the SessionView: the panel reads its session, connection and
   * device, and calls `view.onLinkReplaced(joinUrl)`.
   */
  constructor(view) {
    this.view = view;
    this.members = [];
    // The label of the device removed last, while its removal notice shows.
    this.removedLabel = null;
  }

  get session() {
    return this.view.session;
  }

  get ownDeviceId() {
    return this.view.app.state.device?.id ?? null;
  }

  /** Build the panel; call again after a language change. */
  build() {
    this.list = el("ul", { class: "member-list", testid: TEST_IDS.memberList });
    this.codeForm = this.buildCodeForm();
    this.replaceButton = el("button", {
      type: "button",
      class: "button",
      testid: TEST_IDS.replaceLink,
      hidden: true,
      text: t("share.replace"),
    });
    armThenRun(this.replaceButton, t("share.replaceConfirm"), () => this.replaceLink());
    this.removalNotice = el("div", {
      class: "notice notice-ended",
      role: "status",
      testid: TEST_IDS.removalNotice,
      hidden: true,
    });
    this.root = el(
      "section",
      { class: "members", "aria-labelledby": "members-heading" },
      this.codeForm,
      el("h2", { id: "members-heading", text: t("members.heading") }),
      this.removalNotice,
      this.list,
    );
    this.renderList();
    this.renderRemovalNotice();
    return this.root;
  }

  // A removed person can open the join link again from another browser,
  // which is a new device; only a new link keeps them out. The owner
  // decides, because replacing it also stops the link they shared with
  // people who have not joined yet.
  renderRemovalNotice() {
    if (!this.removalNotice) {
      return;
    }
    const label = this.removedLabel;
    this.removalNotice.hidden = label === null || !this.session?.owner;
    if (label === null) {
      this.removalNotice.replaceChildren();
      return;
    }
    const replace = el("button", {
      type: "button",
      class: "button button-primary button-small",
      testid: TEST_IDS.replaceAfterRemoval,
      text: t("members.replaceAfterRemoval"),
    });
    replace.addEventListener("click", async () => {
      replace.disabled = true;
      await this.replaceLink();
      replace.disabled = false;
    });
    const keep = el("button", {
      type: "button",
      class: "button button-small",
      text: t("members.keepLink"),
    });
    keep.addEventListener("click", () => this.linkReplaced());
    this.removalNotice.replaceChildren(
      el("p", { class: "notice-text", text: t("members.removedLinkStillWorks", { label }) }),
      replace,
      keep,
    );
  }

  /** Hide the removal notice: the link was replaced, or the owner keeps it. */
  linkReplaced() {
    this.removedLabel = null;
    this.renderRemovalNotice();
  }

  buildCodeForm() {
    this.codeInput = el("input", {
      type: "text",
      id: "pairing-code-input",
      inputmode: "numeric",
      autocomplete: "off",
      maxlength: 40,
      required: true,
      "aria-describedby": "pairing-code-hint",
      testid: TEST_IDS.codeInput,
    });
    const submit = el("button", {
      type: "submit",
      class: "button button-primary",
      testid: TEST_IDS.codeSubmit,
      text: t("codeBox.submit"),
    });
    const form = el(
      "form",
      { class: "code-form", hidden: true },
      el("label", { for: this.codeInput.id, text: t("codeBox.label") }),
      el("div", { class: "link-row" }, this.codeInput, submit),
      el("p", { class: "hint", id: "pairing-code-hint", text: t("codeBox.hint") }),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.redeem(submit);
    });
    return form;
  }

  /** Show the owner's controls only to the owner and only while live. */
  showControls(active) {
    const owner = Boolean(active && this.session?.owner);
    this.codeForm.hidden = !owner;
    this.replaceButton.hidden = !owner;
    this.renderList();
  }

  update(members) {
    this.members = members;
    this.renderList();
  }

  renderList() {
    if (!this.list) {
      return;
    }
    const shared = sharedLabels(this.members);
    const rows = this.members.map((member) => this.buildRow(member, shared.has(member.label)));
    this.list.replaceChildren(...rows);
  }

  buildRow(member, labelShared) {
    const row = el(
      "li",
      {
        class: `member-row ${member.online ? "is-online" : "is-offline"}`,
        testid: TEST_IDS.memberRow,
        "data-device-id": member.device_id,
        "data-online": String(member.online),
      },
      el("span", { class: "presence-dot", "aria-hidden": "true" }),
      el("span", { class: "member-label", text: deviceLabel(member.label) }),
      el("span", {
        class: "member-status",
        text: statusText(member, this.ownDeviceId, labelShared),
      }),
    );
    if (this.session?.owner && !member.owner && !this.codeForm.hidden) {
      const remove = el("button", {
        type: "button",
        class: "button button-small",
        testid: TEST_IDS.removeMember,
        "aria-label": t("members.removeNamed", {
          label: labelShared
            ? `${deviceLabel(member.label)} (${joinedText(member)})`
            : deviceLabel(member.label),
        }),
        text: t("members.remove"),
      });
      armThenRun(remove, t("members.removeConfirm"), () => this.remove(member));
      row.append(remove);
    }
    return row;
  }

  async redeem(submit) {
    submit.disabled = true;
    try {
      const ack = await this.view.connection.request(events.PAIRING_REDEEM, {
        session_id: this.session.id,
        code: this.codeInput.value,
      });
      this.codeInput.value = "";
      showInfo(t("codeBox.added", { label: deviceLabel(ack.device.label) }));
    } catch (error) {
      showError(error);
    } finally {
      submit.disabled = false;
    }
  }

  async remove(member) {
    try {
      await this.view.connection.request(events.MEMBER_REMOVE, {
        session_id: this.session.id,
        device_id: member.device_id,
      });
      this.removedLabel = deviceLabel(member.label);
      this.renderRemovalNotice();
    } catch (error) {
      showError(error, deviceLabel(member.label));
    }
  }

  async replaceLink() {
    try {
      const ack = await this.view.connection.request(events.SESSION_REPLACE_LINK, {
        session_id: this.session.id,
      });
      this.view.onLinkReplaced(ack.join_url);
      this.linkReplaced();
      showInfo(t("share.replaced"));
    } catch (error) {
      showError(error);
    }
  }
}

/**
 * Pass the session's member, link and removal events to the view while
 * `isForThisSession(payload)` holds. Returns a function that stops listening.
 */
export function listenToMembership(connection, isForThisSession, view) {
  const stops = [
    connection.on(events.MEMBERS_UPDATED, (payload) => {
      if (isForThisSession(payload)) {
        view.members.update(payload.members);
      }
    }),
    connection.on(events.SESSION_LINK_REPLACED, (payload) => {
      if (isForThisSession(payload)) {
        view.onLinkReplaced(payload.join_url);
        view.members.linkReplaced();
      }
    }),
    connection.on(events.SESSION_REMOVED, (payload) => {
      if (isForThisSession(payload)) {
        view.end("removed");
      }
    }),
  ];
  return () => stops.forEach((stop) => stop());
}
