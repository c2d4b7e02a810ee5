// The page's one Socket.IO connection and a promise wrapper around
// emit-with-acknowledgement.

import { io } from "../vendor/socket.io-client-4.8.4.esm.min.js";
import { ApiError, bodyError, clientError } from "./errors.js";

const ACK_TIMEOUT_MS = 20000;

export class Connection {
  constructor() {
    this.socket = io({
      path: "/socket.io/",
      transports: ["websocket"],
      autoConnect: false,
    });
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
    this.socket.io.on("reconnect", handler);
    return () => this.socket.io.off("reconnect", handler);
  }

  /**
   * Report the connection's state to `handler` as "connected",
   * "reconnecting", "closed" (the server disconnected us, so socket.io will
   * not retry) or "rejected" (with the server's error object).
   */
  onStatus(handler) {
    this.socket.on("connect", () => handler("connected", null));
    this.socket.on("disconnect", () => {
      handler(this.socket.active ? "reconnecting" : "closed", null);
    });
    this.socket.on("connect_error", (error) => {
      if (this.socket.active) {
        handler("reconnecting", null);
        return;
      }
      // The server rejected the handshake, so socket.io will not retry.
      const body = error.data && typeof error.data.code === "string" ? error.data : null;
      handler("rejected", body ? new ApiError(body) : clientError("network_error"));
    });
  }
}
