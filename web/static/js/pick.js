// The page a lobby QR code opens: a signed-in device picks one of its
// sessions, or creates one, and the scanned device is pulled into it.

import * as api from "./api.js";
import { TEST_IDS, el } from "./dom.js";
import * as events from "./events.js";
import { describeError } from "./errors.js";
import { t } from "./i18n.js";
import { deviceLabel } from "./names.js";
import "./i18n-pairing.js";
import { buildCreateForm, sessionPath } from "./lobby-layout.js";
import { showError } from "./toast.js";

export class PickView {
  constructor(app, linkToken) {
    this.app = app;
    this.connection = app.connection;
    this.linkToken = linkToken;
    this.target = null;
    this.problem = null;
    this.sessions = [];
  }

  mount(container) {
    this.container = container;
    this.render();
    this.load();
  }

  unmount() {}

  render() {
    const heading = el("h1", { text: t("pick.heading") });
    const root = el("section", { class: "view view-pick" }, heading, ...this.body());
    this.container.replaceChildren(root);
  }

  body() {
    if (this.problem) {
      return [el("p", { class: "notice notice-error", role: "alert", text: this.problem })];
    }
    if (!this.target) {
      return [el("p", { class: "hint", text: t("pick.checking") })];
    }
    const device = el("p", {
      class: "lead",
      testid: TEST_IDS.pickDevice,
      text: t("pick.device", { label: deviceLabel(this.target.label) }),
    });
    if (!this.app.state.account) {
      return [device, ...this.guestStart()];
    }
    return [device, this.sessionList(), this.createForm()];
  }

  guestStart() {
    return [
      el("p", { class: "hint", text: t("pick.needAccount") }),
      el("button", {
        type: "button",
        class: "button button-primary",
        testid: TEST_IDS.startGuest,
        text: t("lobby.startGuest"),
        on: { click: () => this.startGuest() },
      }),
    ];
  }

  sessionList() {
    const items = this.sessions.map((session) =>
      el(
        "li",
        { class: "session-item" },
        el("button", {
          type: "button",
          class: "button",
          testid: TEST_IDS.pickSession,
          text: t("pick.addTo", { title: session.title || t("session.untitled") }),
          on: { click: (event) => this.pull(session, event.currentTarget) },
        }),
      ),
    );
    return el(
      "section",
      { class: "sessions", "aria-labelledby": "pick-sessions-heading" },
      el("h2", { id: "pick-sessions-heading", text: t("pick.sessionsHeading") }),
      items.length ? el("ul", { class: "session-list" }, items) : el("p", { class: "empty-note", text: t("pick.noSessions") }),
    );
  }

  createForm() {
    const plan = this.app.state.plan;
    if (!plan) {
      return null;
    }
    const form = buildCreateForm(plan, (fields) => this.createAndPull(fields));
    form.querySelector("h2").textContent = t("pick.createHeading");
    const submit = form.querySelector('button[type="submit"]');
    submit.textContent = t("pick.createAndAdd");
    submit.dataset.testid = TEST_IDS.pickCreate;
    return form;
  }

  async load() {
    try {
      const ack = await this.connection.request(events.PAIRING_PEEK, { link_token: this.linkToken });
      this.target = ack.device;
      if (ack.own_device) {
        this.problem = t("pick.ownDevice");
      }
      await this.loadSessions();
    } catch (error) {
      this.problem = describeError(error);
    }
    this.render();
  }

  async loadSessions() {
    if (!this.app.state.account) {
      return;
    }
    const body = await api.listSessions();
    this.sessions = body.sessions;
  }

  async startGuest() {
    try {
      const body = await api.startGuest();
      Object.assign(this.app.state, { account: body.account, plan: body.plan });
      this.app.watchGuestExpiry();
      await this.loadSessions();
    } catch (error) {
      showError(error);
    }
    this.render();
  }

  async pull(session, button) {
    if (button) {
      button.disabled = true;
    }
    try {
      await this.connection.request(events.PAIRING_PULL, {
        link_token: this.linkToken,
        session_id: session.id,
      });
      this.app.navigate(sessionPath(session));
    } catch (error) {
      showError(error);
      if (button) {
        button.disabled = false;
      }
    }
  }

  async createAndPull({ title, minutes, submit }) {
    const fields = { lifetime_s: Math.round(minutes * 60) };
    if (title) {
      fields.title = title;
    }
    submit.disabled = true;
    try {
      const body = await api.createSession(fields);
      await this.pull(body.session, null);
    } catch (error) {
      showError(error);
    }
    submit.disabled = false;
  }
}
