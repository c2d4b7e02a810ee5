// Entry point: reads the page's bootstrap data, opens the Socket.IO
// connection and switches between the lobby and session views without
// reloading the page.

import { renderAccountNav } from "./account-nav.js";
import { AccountView } from "./account-view.js";
import { getMe } from "./api.js";
import { AuthView } from "./auth-view.js";
import { ServerClock } from "./countdown.js";
import { IDS } from "./dom.js";
import { describeError } from "./errors.js";
import { ACCOUNT_SIGNED_OUT } from "./events.js";
import { currentLang, onLangChange, setLang, t, translateStatic } from "./i18n.js";
import { deviceLabel } from "./names.js";
import "./i18n-pairing.js";
import { LobbyView } from "./lobby.js";
import { PickView } from "./pick.js";
import { SessionView } from "./session.js";
import { Connection } from "./socket.js";

const SESSION_PATH = /^\/s\/([^/]+)\/?$/;
const PICK_PATH = /^\/p\/([^/]+)\/?$/;
const ACCOUNT_VIEWS = {
  "/signin": (app) => new AuthView(app, "signin"),
  "/signup": (app) => new AuthView(app, "signup"),
  "/account": (app) => new AccountView(app),
};
// A short drop, such as a server restart, reconnects before this.
const RECONNECT_NOTICE_DELAY_MS = 1500;
// The server deletes an expired guest in its next sweep; asking just after
// the deadline already finds the account gone.
const GUEST_EXPIRY_GRACE_MS = 1000;
const MAX_TIMER_MS = 2 ** 31 - 1;

function readBootstrap() {
  const node = document.getElementById(IDS.bootstrap);
  try {
    return JSON.parse(node?.textContent || "{}") ?? {};
  } catch {
    return {};
  }
}

class App {
  constructor(bootstrap) {
    this.state = {
      device: bootstrap.device ?? null,
      account: bootstrap.account ?? null,
      plan: bootstrap.plan ?? null,
    };
    this.features = {
      guestAccounts: bootstrap.guest_accounts !== false,
      signupOpen: bootstrap.signup_open !== false,
    };
    this.connection = new Connection();
    this.clock = new ServerClock();
    this.view = null;
    this.container = document.getElementById(IDS.view);
    this.statusNode = document.getElementById(IDS.connection);
    this.noticeTimer = null;
  }

  start() {
    document.documentElement.lang = currentLang();
    translateStatic();
    this.wireLanguageSwitch();
    this.wireLinks();
    this.wireConnectionStatus();
    window.addEventListener("popstate", () => this.route());
    // Another device signed this one out: start over as signed out.
    this.connection.on(ACCOUNT_SIGNED_OUT, () => window.location.assign("/"));
    this.connection.onReconnect(() => this.checkAccount());
    this.watchGuestExpiry();
    this.connection.connect();
    this.route();
  }

  viewFor(path) {
    const match = SESSION_PATH.exec(path);
    if (match) {
      return new SessionView(this, decodeURIComponent(match[1]));
    }
    const pick = PICK_PATH.exec(path);
    if (pick) {
      return new PickView(this, decodeURIComponent(pick[1]));
    }
    const accountView = ACCOUNT_VIEWS[path.replace(/\/$/, "")];
    return accountView ? accountView(this) : new LobbyView(this);
  }

  route() {
    renderAccountNav(this.state.account, this.features);
    this.view?.unmount();
    this.view = this.viewFor(window.location.pathname);
    this.view.mount(this.container);
    window.scrollTo(0, 0);
  }

  /** Move to another view, adding a history entry. */
  navigate(path) {
    if (path !== window.location.pathname) {
      window.history.pushState(null, "", path);
    }
    this.route();
  }

  wireLinks() {
    document.addEventListener("click", (event) => {
      const link = event.target.closest?.("a[data-route]");
      const plainClick =
        event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey;
      if (!link || !plainClick || link.origin !== window.location.origin) {
        return;
      }
      event.preventDefault();
      this.navigate(link.pathname);
    });
  }

  wireLanguageSwitch() {
    const select = document.getElementById(IDS.langSwitch);
    select.value = currentLang();
    select.addEventListener("change", () => setLang(select.value));
    onLangChange((lang) => {
      select.value = lang;
      translateStatic();
      renderAccountNav(this.state.account, this.features);
      this.showDevice();
      this.view?.render();
    });
  }

  wireConnectionStatus() {
    this.connection.onStatus((status, error) => {
      clearTimeout(this.noticeTimer);
      if (status === "connected") {
        this.statusNode.hidden = true;
        this.refreshDevice();
      } else if (status === "reconnecting") {
        const show = () => this.showNotice(t("connection.reconnecting"));
        this.noticeTimer = setTimeout(show, RECONNECT_NOTICE_DELAY_MS);
      } else {
        this.showNotice(describeError(error));
      }
    });
  }

  // Another tab may have signed this browser in, up or out while the
  // connection was down; a page showing another account starts over.
  async checkAccount() {
    let body;
    try {
      body = await getMe();
    } catch {
      return;
    }
    if ((body.account?.id ?? null) !== (this.state.account?.id ?? null)) {
      window.location.reload();
    }
  }

  // A guest account ends at its expiry; the page then starts over signed out
  // instead of offering to keep an account that is gone.
  watchGuestExpiry() {
    const expiresAt = this.state.account?.expires_at;
    if (typeof expiresAt !== "number") {
      return;
    }
    const delayMs = Math.min(expiresAt - Date.now() + GUEST_EXPIRY_GRACE_MS, MAX_TIMER_MS);
    setTimeout(() => this.checkAccount(), Math.max(delayMs, 0));
  }

  showNotice(text) {
    this.statusNode.textContent = text;
    this.statusNode.hidden = false;
  }

  // The server records a device on its first Socket.IO connection, so the
  // page's bootstrap may not have its label yet.
  async refreshDevice() {
    if (this.state.device) {
      this.showDevice();
      return;
    }
    try {
      const body = await getMe();
      this.state.device = body.device;
    } catch {
      // The page works without the device, and the next connection requests it again.
      return;
    }
    this.showDevice();
    this.view?.onDeviceKnown?.();
  }

  showDevice() {
    const node = document.getElementById(IDS.deviceLabel);
    const label = this.state.device?.label;
    node.textContent = label ? t("footer.device", { label: deviceLabel(label) }) : "";
  }
}

new App(readBootstrap()).start();
