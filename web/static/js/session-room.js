// The session room's server events, passed on only when they concern the
// session on screen.

import * as events from "./events.js";

/**
 * Call `handlers` for room events whose payload passes `isForThisSession`.
 * Returns a function that stops listening.
 */
export function listenToRoom(connection, isForThisSession, handlers) {
  const stops = [];
  const on = (name, handler) => {
    const guarded = (payload) => {
      if (isForThisSession(payload)) {
        handler(payload);
      }
    };
    stops.push(connection.on(name, guarded));
  };
  on(events.UPLOAD_STARTED, ({ file }) => handlers.upsertFile(file));
  on(events.UPLOAD_PROGRESS, ({ file_id, offset }) => handlers.progress(file_id, offset));
  on(events.FILE_READY, ({ file }) => handlers.upsertFile(file));
  on(events.FILE_DELETED, ({ file_id, reason }) => handlers.fileDeleted(file_id, reason));
  on(events.SESSION_UPDATED, (payload) => handlers.sessionUpdated(payload));
  on(events.SESSION_ENDED, ({ reason }) => handlers.sessionEnded(reason));
  return () => stops.forEach((stop) => stop());
}
