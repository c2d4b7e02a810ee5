// The lobby's pairing panel: this device's code and QR code, kept live over
// Socket.IO, and the move into a session when another device pulls this
// one in.

import { pairingQrUrl } from "./api.js";
import { TEST_IDS, el } from "./dom.js";
import * as events from "./events.js";
import { t } from "./i18n.js";
import "./i18n-pairing.js";
import { showError, showInfo } from "./toast.js";
import { sessionPath } from "./lobby-layout.js";

const RETRY_MS = 5000;
// The maximum setTimeout delay; a longer one fires at once.
const MAX_TIMER_MS = 2 ** 31 - 1;

export class PairingPanel {
  constructor(app) {
    this.app = app;
    this.connection = app.connection;
    this.offer = null;
    this.timer = null;
    this.stops = [];
    this.root = null;
    // The server time of this lobby's first offer: a pull at or after it
    // that the lobby missed while its connection was down still moves it.
    this.since = null;
    this.missedPullCheck = false;
  }

  /** Start listening and request the device's offer. */
  start() {
    this.stops.push(this.connection.on(events.PAIRING_OFFERED, (offer) => this.show(offer)));
    this.stops.push(this.connection.on(events.PAIRING_PULLED, (notice) => this.onPulled(notice)));
    // A pull announced while this socket or the server's Redis was down
    // never arrived, so the lobby requests it with `since`.
    this.stops.push(this.connection.onReconnect(() => this.catchUp()));
    this.stops.push(this.connection.on(events.SESSION_RESYNC, () => this.catchUp()));
    this.refresh();
  }

  catchUp() {
    this.missedPullCheck = this.since !== null;
    this.refresh();
  }

  stop() {
    clearTimeout(this.timer);
    this.stops.forEach((stop) => stop());
    this.stops = [];
  }

  /** Build the panel's elements; call again after a language change. */
  build() {
    this.codeNode = el("output", {
      class: "pairing-code",
      testid: TEST_IDS.pairingCode,
      "aria-label": t("pairing.codeLabel"),
      text: t("pairing.waiting"),
    });
    this.qr = el("img", {
      class: "qr",
      testid: TEST_IDS.pairingQr,
      alt: t("pairing.qrAlt"),
      width: 180,
      height: 180,
      hidden: true,
    });
    this.root = el(
      "aside",
      { class: "pairing-panel", testid: TEST_IDS.pairingPanel, "aria-labelledby": "pairing-heading" },
      el("h2", { id: "pairing-heading", text: t("pairing.heading") }),
      el("p", { class: "hint", text: t("pairing.hint") }),
      this.codeNode,
      this.qr,
    );
    if (this.offer) {
      this.show(this.offer);
    }
    return this.root;
  }

  async refresh() {
    clearTimeout(this.timer);
    const checking = this.missedPullCheck;
    try {
      const offer = await this.connection.request(
        events.PAIRING_OFFER,
        checking ? { since: this.since } : {},
      );
      if (checking) {
        this.missedPullCheck = false;
      }
      if (offer.pulled) {
        this.onPulled(offer.pulled);
        return;
      }
      this.since ??= offer.server_now;
      this.show(offer);
    } catch (error) {
      showError(error);
      this.timer = setTimeout(() => this.refresh(), RETRY_MS);
    }
  }

  show(offer) {
    this.offer = offer;
    this.app.clock.align(offer.server_now);
    if (this.root) {
      this.codeNode.textContent = offer.code_display;
      this.root.dataset.linkUrl = offer.link_url;
      this.qr.src = pairingQrUrl(offer.offer_id);
      this.qr.hidden = false;
    }
    clearTimeout(this.timer);
    const waitMs = Math.min(MAX_TIMER_MS, Math.max(0, offer.rotate_at - this.app.clock.now()));
    this.timer = setTimeout(() => this.refresh(), waitMs);
  }

  onPulled(notice) {
    showInfo(t("pairing.pulled", { title: notice.title || t("pairing.untitled") }));
    this.app.navigate(sessionPath(notice));
  }
}
