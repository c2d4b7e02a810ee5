// The page's one Socket.IO connection and a promise wrapper around
// emit-with-acknowledgement.

import { io } from "../vendor/socket.io-client-4.8.4.esm.min.js";
import { ApiError, bodyError, clientError } from "./errors.js";

const ACK_TIMEOUT_MS = 20000;
const SERVER_CLOSE_RETRY_MS = 300;
// Tries after a handshake rejected with token_replaced: the browser stores
// the new cookie when the response that replaced it arrives, which under
// load can take longer than the first retry.
const REPLACED_TOKEN_RETRIES = 20;

export class Connection {
  constructor() {
    this.socket = io({
      path: "/socket.io/",
      transports: ["websocket"],
      autoConnect: false,
    });
    this.reconnectHandlers = new Set();
    this.serverClosed = false;
    // The server closes a device's connections when the device gets a new
    // token (sign-in, sign-up, guest start, password change in any tab).
    // socket.io does not retry after that, so reconnect by hand: the
    // browser sends the new cookie.
    this.socket.on("disconnect", (reason) => {
      if (reason === "io server disconnect") {
        this.serverClosed = true;
        setTimeout(() => this.socket.connect(), SERVER_CLOSE_RETRY_MS);
      }
    });
    // A page that reconnects with the cookie that a sign-in or guest start
    // just replaced gets token_replaced: retry until the new cookie is in.
    // NOTE: no browser test covers these retries; the server's refusal is
    // tested in tests/test_token_replaced.py.
    this.replacedTokenRetries = 0;
    this.retryingReplacedToken = false;
    this.socket.on("connect_error", (error) => {
      const code = error.data && error.data.code;
      this.retryingReplacedToken =
        !this.socket.active &&
        code === "token_replaced" &&
        this.replacedTokenRetries < REPLACED_TOKEN_RETRIES;
      if (this.retryingReplacedToken) {
        this.replacedTokenRetries += 1;
        setTimeout(() => this.socket.connect(), SERVER_CLOSE_RETRY_MS);
      }
    });
    this.socket.on("connect", () => {
      this.replacedTokenRetries = 0;
      if (this.serverClosed) {
        this.serverClosed = false;
        this.reconnectHandlers.forEach((handler) => handler());
      }
    });
    this.socket.io.on("reconnect", () => this.reconnectHandlers.forEach((handler) => handler()));
  }

  connect() {
    this.socket.connect();
  }

  /**
   * Emit `event` and resolve to its successful acknowledgement.
   * While the connection is down the emit waits in socket.io's buffer, so
   * the timeout covers the reconnection too.
   */
  async request(event, payload = {}, timeoutMs = ACK_TIMEOUT_MS) {
    let ack;
    try {
      ack = await this.socket.timeout(timeoutMs).emitWithAck(event, payload);
    } catch {
      throw clientError("timeout");
    }
    const error = bodyError(ack);
    if (error) {
      throw error;
    }
    return ack;
  }

  /** Listen to a server event and return a function that stops listening. */
  on(event, handler) {
    this.socket.on(event, handler);
    return () => this.socket.off(event, handler);
  }

  /** Call `handler` after every reconnection, not after the first connect. */
  onReconnect(handler) {
    this.reconnectHandlers.add(handler);
    return () => this.reconnectHandlers.delete(handler);
  }

  /**
   * Report the connection's state to `handler` as "connected",
   * "reconnecting" or "rejected" (with the server's error object).
   */
  onStatus(handler) {
    this.socket.on("connect", () => handler("connected", null));
    this.socket.on("disconnect", () => handler("reconnecting", null));
    this.socket.on("connect_error", (error) => {
      // The constructor's listener ran first and decided on a retry.
      if (this.socket.active || this.retryingReplacedToken) {
        handler("reconnecting", null);
        return;
      }
      // The server rejected the handshake, so socket.io will not retry.
      const body = error.data && typeof error.data.code === "string" ? error.data : null;
      handler("rejected", body ? new ApiError(body) : clientError("network_error"));
    });
  }
}
