// The session page: joins the session's room, shows its files and live
// uploads, and sends this browser's uploads.

import { armThenRun, copyText } from "./controls.js";
import { Countdown } from "./countdown.js";
import { wirePicking } from "./drop.js";
import { clientError, isRetryable } from "./errors.js";
import * as events from "./events.js";
import { FileList } from "./file-list.js";
import { t } from "./i18n.js";
import { forgetSession, forgetUpload } from "./resume.js";
import * as display from "./session-display.js";
import { ExtendControl } from "./session-extend.js";
import { buildSessionLayout } from "./session-layout.js";
import { MembersPanel, listenToMembership } from "./session-members.js";
import { listenToRoom } from "./session-room.js";
import { showError, showInfo } from "./toast.js";
import { UploadManager } from "./upload.js";

// How long past the deadline to wait for session:ended before showing the
// end anyway, for a device whose connection is down at that moment.
const END_GRACE_MS = 5000;
const JOIN_RETRY_MS = 5000;

export class SessionView {
  constructor(app, joinToken) {
    this.app = app;
    this.connection = app.connection;
    this.joinToken = joinToken;
    this.session = null;
    this.manager = null;
    this.ended = null;
    this.problem = null;
    this.unmounted = false;
    this.stops = [];
    this.stopPicking = () => {};
    this.members = new MembersPanel(this);
  }

  mount(container) {
    this.container = container;
    this.render();
    this.listen();
    this.join();
  }

  unmount() {
    this.unmounted = true;
    this.stops.forEach((stop) => stop());
    this.stopPicking();
    this.countdown.stop();
    // Leaving pauses uploads, and picking the same files again resumes them.
    if (this.manager?.close(clientError("stopped")) > 0 && !this.ended) {
      showInfo(t("status.pausedOnLeave"));
    }
    if (this.session && !this.ended) {
      this.leave(this.session.id);
    }
  }

  leave(sessionId) {
    this.connection.request(events.SESSION_LEAVE, { session_id: sessionId }).catch(() => {});
  }

  /** Build the page from the current state, as on a language change. */
  render() {
    this.countdown?.stop();
    this.stopPicking();
    const files = this.fileList ? [...this.fileList.files.values()] : [];
    const parts = buildSessionLayout(Boolean(this.app.state.account));
    this.parts = parts;
    this.fileList = new FileList(parts.fileList, parts.emptyNote, {
      transferOf: (fileId) => this.manager?.transferOf(fileId) ?? null,
      isOwn: (file) => this.isOwn(file),
      canDelete: (file) => Boolean(this.session?.owner || this.isOwn(file)),
      onDelete: (file) => this.deleteFile(file),
    });
    this.fileList.replaceAll(files);
    this.countdown = new Countdown(parts.countdown, this.app.clock, () => this.onDeadline());
    this.stopPicking = wirePicking(parts, (picked) => this.upload(picked), showError);
    parts.copyButton.addEventListener("click", () => this.copyLink());
    parts.sharePanel.append(this.members.build());
    parts.copyButton.after(this.members.replaceButton);
    armThenRun(parts.deleteSession, t("session.deleteConfirm"), () => this.deleteSession());
    this.extendControl = new ExtendControl(this.connection);
    parts.deleteSession.before(this.extendControl.button);
    this.container.replaceChildren(parts.root);
    this.refresh();
  }

  refresh() {
    const parts = this.parts;
    display.showPickersEnabled(parts, Boolean(this.session && !this.ended && !this.problem));
    display.showProblem(parts, this.problem, this.ended);
    if (this.session) {
      display.showSessionFacts(parts, this.session, this.ended);
    }
    this.members.showControls(Boolean(this.session && !this.ended && !this.problem));
    this.extendControl.update(this.session, this.app.state.plan, this.ended);
    if (this.ended) {
      this.countdown.stop();
      display.showEnded(parts, this.ended);
    } else if (this.session) {
      this.countdown.setDeadline(this.session.expires_at);
      this.countdown.start();
    }
  }

  listen() {
    const stopRoom = listenToRoom(this.connection, (payload) => this.isForThisSession(payload), {
      upsertFile: (file) => this.fileList.upsert(file),
      progress: (fileId, offset) => this.fileList.progress(fileId, offset),
      fileDeleted: (fileId, reason) => this.onFileDeleted(fileId, reason),
      sessionUpdated: (payload) => this.onSessionUpdated(payload),
      sessionEnded: (reason) => this.end(reason),
    });
    this.stops.push(stopRoom);
    this.stops.push(
      listenToMembership(this.connection, (payload) => this.isForThisSession(payload), this),
    );
    // Joining again replaces the file list, progress and members with the
    // server's, so events missed while the connection or the server's Redis
    // was down leave nothing stale.
    this.stops.push(this.connection.onReconnect(() => this.join()));
    this.stops.push(this.connection.on(events.SESSION_RESYNC, () => this.join()));
    this.stops.push(this.app.clock.syncEvery(this.connection));
    const warnBeforeLeaving = (event) => {
      if (this.manager?.isBusy()) {
        event.preventDefault();
      }
    };
    window.addEventListener("beforeunload", warnBeforeLeaving);
    this.stops.push(() => window.removeEventListener("beforeunload", warnBeforeLeaving));
  }

  isOwn(file) {
    const deviceId = this.app.state.device?.id;
    return (
      file.own === true ||
      Boolean(deviceId && file.uploader_device_id === deviceId) ||
      Boolean(this.manager?.declared(file.id))
    );
  }

  /** Redraw rows once the device's id is known, as it decides "own". */
  onDeviceKnown() {
    // Both mark what is this device's own, which may have been drawn first.
    this.fileList.redrawAll();
    this.members.renderList();
  }

  isForThisSession(payload) {
    return Boolean(this.session && !this.ended && payload?.session_id === this.session.id);
  }

  /** Join the room, then replace the file list with the server's. */
  async join() {
    if (this.ended || this.unmounted) {
      return;
    }
    let ack;
    try {
      ack = await this.connection.request(events.SESSION_JOIN, { join_token: this.joinToken });
    } catch (error) {
      this.onJoinFailed(error);
      return;
    }
    if (this.unmounted) {
      this.leave(ack.session.id);
      return;
    }
    this.app.clock.align(ack.session.server_now);
    this.session = ack.session;
    this.problem = null;
    this.ensureManager(ack.limits);
    this.fileList.replaceAll(ack.files);
    this.members.update(ack.members ?? []);
    this.followJoinUrl(ack.session.join_url);
    this.refresh();
  }

  /** Show a replaced join link, and keep this page on its address. */
  onLinkReplaced(joinUrl) {
    if (!this.session) {
      return;
    }
    this.session.join_url = joinUrl;
    this.followJoinUrl(joinUrl);
    this.refresh();
  }

  // A member that opened a replaced link is moved to the current one, so
  // the address it copies or bookmarks still admits others.
  followJoinUrl(joinUrl) {
    const path = new URL(joinUrl, window.location.href).pathname;
    this.joinToken = decodeURIComponent(path.split("/").pop());
    if (path !== window.location.pathname) {
      window.history.replaceState(null, "", path);
    }
  }

  onJoinFailed(error) {
    if (this.unmounted) {
      return;
    }
    if (error.code === "session_ended") {
      this.end("unknown");
      return;
    }
    if (isRetryable(error)) {
      showError(error);
      setTimeout(() => this.join(), JOIN_RETRY_MS);
      if (this.session) {
        return;
      }
    } else {
      this.manager?.close(clientError("stopped"));
      this.manager = null;
    }
    this.problem = error;
    this.refresh();
  }

  ensureManager(limits) {
    if (this.manager) {
      return;
    }
    this.manager = new UploadManager({
      connection: this.connection,
      sessionId: this.session.id,
      limits,
      hooks: {
        onDeclared: (file) => this.fileList.upsert(file),
        onChange: (transfer) => this.fileList.transferChanged(transfer),
        onComplete: (transfer, file) => file && this.fileList.upsert(file),
        onFailed: (name, error) => showError(error, name),
      },
    });
  }

  upload(picked) {
    if (picked.length === 0 || this.ended || !this.manager) {
      return;
    }
    this.manager.add(picked).catch((error) => showError(error));
  }

  onSessionUpdated({ used_bytes, expires_at, server_now }) {
    this.app.clock.align(server_now);
    Object.assign(this.session, { used_bytes, expires_at });
    display.showCapacity(this.parts, this.session);
    this.countdown.setDeadline(expires_at);
    this.extendControl.update(this.session, this.app.state.plan, this.ended);
  }

  onFileDeleted(fileId, reason) {
    const file = this.fileList.get(fileId);
    const transfer = this.manager?.transferOf(fileId);
    forgetUpload(fileId);
    if (transfer) {
      const error = clientError(reason === "failed" ? "upload_failed" : "file_removed");
      this.manager.stopOne(fileId, error);
      showError(error, file?.name ?? transfer.name);
    }
    this.fileList.remove(fileId);
  }

  onDeadline() {
    setTimeout(() => {
      if (!this.ended && !this.unmounted && this.countdown.remainingMs() <= 0) {
        this.end("expired");
      }
    }, END_GRACE_MS);
  }

  /** Show the end of the session and stop every upload in flight. */
  end(reason) {
    if (this.ended) {
      return;
    }
    const stopped = this.manager ? this.manager.close(clientError("session_ended")) : 0;
    if (this.session) {
      forgetSession(this.session.id);
    }
    this.ended = { reason, stopped };
    this.refresh();
  }

  async deleteFile(file) {
    try {
      if (this.isOwn(file) && file.state === "uploading" && this.manager) {
        await this.manager.cancel(file.id);
      } else {
        await this.connection.request(events.FILE_DELETE, { file_id: file.id });
      }
      this.fileList.remove(file.id);
    } catch (error) {
      showError(error, file.name);
    }
  }

  async deleteSession() {
    try {
      await this.connection.request(events.SESSION_DELETE, { session_id: this.session.id });
      this.end("deleted");
    } catch (error) {
      showError(error);
    }
  }

  async copyLink() {
    const copied = await copyText(this.parts.joinLink);
    showInfo(copied ? t("share.copied") : t("share.copyManually"));
  }
}
