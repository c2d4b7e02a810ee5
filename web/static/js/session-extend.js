// The owner's button that extends a session to its plan's longest
// lifetime, counted from the session's creation.

import { TEST_IDS, el } from "./dom.js";
import { SESSION_EXTEND } from "./events.js";
import { formatDuration } from "./format.js";
import { t } from "./i18n.js";
import { showError } from "./toast.js";

export class ExtendControl {
  constructor(connection) {
    this.connection = connection;
    this.session = null;
    this.plan = null;
    this.button = el("button", {
      type: "button",
      class: "button",
      testid: TEST_IDS.extendSession,
      hidden: true,
      on: { click: () => this.extend() },
    });
  }

  /** Show the button only to the owner of a live session that can grow. */
  update(session, plan, ended) {
    this.session = session;
    this.plan = plan;
    const longest = session && plan ? session.created_at + plan.max_lifetime_s * 1000 : 0;
    const canGrow = Boolean(session?.owner && !ended && session.expires_at < longest);
    this.button.hidden = !canGrow;
    if (plan) {
      this.button.textContent = t("session.extendTo", {
        lifetime: formatDuration(plan.max_lifetime_s),
      });
    }
  }

  async extend() {
    this.button.disabled = true;
    try {
      await this.connection.request(SESSION_EXTEND, {
        session_id: this.session.id,
        lifetime_s: this.plan.max_lifetime_s,
      });
    } catch (error) {
      showError(error);
    } finally {
      this.button.disabled = false;
    }
  }
}
