// The lobby: a guest start for new browsers, then the account's live
// sessions and a form to create one; on every device, its pairing code.

import * as api from "./api.js";
import { Countdown } from "./countdown.js";
import {
  buildAccountLobby,
  buildCreateForm,
  buildSessionItem,
  buildWelcome,
  sessionPath,
} from "./lobby-layout.js";
import { t } from "./i18n.js";
import { PairingPanel } from "./lobby-pairing.js";
import { showError } from "./toast.js";

// The protocol has no event for changes to the account's session list, so
// the lobby polls it, and again whenever the page becomes visible.
const REFRESH_MS = 30000;

export class LobbyView {
  constructor(app) {
    this.app = app;
    this.sessions = [];
    this.countdowns = [];
    this.timer = null;
    this.pairing = new PairingPanel(app);
    this.onVisible = () => {
      if (document.visibilityState === "visible") {
        this.loadSessions();
      }
    };
  }

  mount(container) {
    this.container = container;
    document.title = t("page.lobbyTitle");
    document.addEventListener("visibilitychange", this.onVisible);
    this.render();
    this.pairing.start();
    this.loadSessions();
    this.timer = setInterval(() => this.loadSessions(), REFRESH_MS);
  }

  unmount() {
    clearInterval(this.timer);
    this.pairing.stop();
    document.removeEventListener("visibilitychange", this.onVisible);
    this.stopCountdowns();
  }

  render() {
    this.renderMain();
    this.container.append(this.pairing.build());
  }

  renderMain() {
    const { account, plan } = this.app.state;
    if (!account) {
      const onStart = this.app.features.guestAccounts ? () => this.startGuest() : null;
      this.container.replaceChildren(buildWelcome(onStart));
      return;
    }
    const form = plan ? buildCreateForm(plan, (fields) => this.create(fields)) : null;
    this.parts = buildAccountLobby({ account, plan, clock: this.app.clock }, form);
    this.container.replaceChildren(this.parts.root);
    this.renderSessions();
  }

  stopCountdowns() {
    this.countdowns.forEach((countdown) => countdown.stop());
    this.countdowns = [];
  }

  renderSessions() {
    if (!this.parts) {
      return;
    }
    this.stopCountdowns();
    const items = this.sessions.map((session) => {
      const { item, countdown } = buildSessionItem(session);
      const timer = new Countdown(countdown, this.app.clock, () => this.dropExpired());
      timer.setDeadline(session.expires_at);
      timer.start();
      this.countdowns.push(timer);
      return item;
    });
    this.parts.list.replaceChildren(...items);
    this.parts.emptyNote.hidden = items.length > 0;
  }

  dropExpired() {
    const now = this.app.clock.now();
    this.sessions = this.sessions.filter((session) => session.expires_at > now);
    // Redraw after the countdown's own tick has finished.
    setTimeout(() => this.renderSessions(), 0);
  }

  async loadSessions() {
    if (!this.app.state.account) {
      return;
    }
    try {
      const body = await api.listSessions();
      const first = body.sessions[0];
      if (first) {
        this.app.clock.align(first.server_now);
      }
      this.sessions = body.sessions;
      this.renderSessions();
    } catch (error) {
      if (error.code === "account_required") {
        // The guest account expired: offer a new start instead.
        Object.assign(this.app.state, { account: null, plan: null });
        this.render();
      }
      showError(error);
    }
  }

  async startGuest() {
    try {
      const body = await api.startGuest();
      Object.assign(this.app.state, { account: body.account, plan: body.plan });
      this.app.watchGuestExpiry();
      this.render();
      this.loadSessions();
    } catch (error) {
      showError(error);
    }
  }

  async create({ title, minutes, submit }) {
    const fields = { lifetime_s: Math.round(minutes * 60) };
    if (title) {
      fields.title = title;
    }
    submit.disabled = true;
    try {
      const body = await api.createSession(fields);
      this.app.navigate(sessionPath(body.session));
    } catch (error) {
      showError(error);
      submit.disabled = false;
    }
  }
}
