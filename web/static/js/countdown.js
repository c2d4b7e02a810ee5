// A clock in step with the server's, and countdowns that read it.

import { CLOCK_SYNC } from "./events.js";
import { formatCountdown } from "./format.js";

const SYNC_INTERVAL_MS = 30000;
const SYNC_TIMEOUT_MS = 10000;
const URGENT_MS = 60000;

/** The server's clock, estimated as the local clock plus an offset. */
export class ServerClock {
  constructor() {
    this.offsetMs = 0;
  }

  /** Adopt `serverNow`, which the server read at local time `readAt`. */
  align(serverNow, readAt = Date.now()) {
    if (Number.isFinite(serverNow)) {
      this.offsetMs = serverNow - readAt;
    }
  }

  now() {
    return Date.now() + this.offsetMs;
  }

  /** Ask the server for its time every 30 s and return a stop function. */
  syncEvery(connection, intervalMs = SYNC_INTERVAL_MS) {
    const sync = async () => {
      const sentAt = Date.now();
      try {
        const ack = await connection.request(CLOCK_SYNC, {}, SYNC_TIMEOUT_MS);
        // The server read its clock about halfway through the round trip.
        this.align(ack.server_now, (sentAt + Date.now()) / 2);
      } catch {
        // A missed sync keeps the last offset, and the next one corrects it.
      }
    };
    const timer = setInterval(sync, intervalMs);
    return () => clearInterval(timer);
  }
}

/** Text in `node` counting down to a deadline, redrawn every second. */
export class Countdown {
  constructor(node, clock, onExpire = () => {}) {
    this.node = node;
    this.clock = clock;
    this.onExpire = onExpire;
    this.expiresAt = null;
    this.expired = false;
    this.timer = null;
  }

  setDeadline(expiresAt) {
    this.expiresAt = expiresAt;
    this.expired = false;
    this.tick();
  }

  start() {
    this.stop();
    this.timer = setInterval(() => this.tick(), 1000);
    this.tick();
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }

  remainingMs() {
    return this.expiresAt === null ? 0 : this.expiresAt - this.clock.now();
  }

  tick() {
    if (this.expiresAt === null) {
      return;
    }
    const remaining = this.remainingMs();
    this.node.textContent = formatCountdown(remaining);
    this.node.dateTime = new Date(this.expiresAt).toISOString();
    this.node.classList.toggle("is-urgent", remaining < URGENT_MS);
    if (remaining <= 0 && !this.expired) {
      this.expired = true;
      this.onExpire();
    }
  }
}
