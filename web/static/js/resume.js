// The browser's record of unfinished uploads, so that picking the same file
// again after a reload resumes it: (session_id, name, size, lastModified)
// -> file_id, kept in localStorage.

const STORAGE_KEY = "dropspace.uploads";
const MAX_ENTRIES = 500;

function entryKey(sessionId, name, file) {
  return JSON.stringify([sessionId, name, file.size, file.lastModified]);
}

function readEntries() {
  try {
    const entries = JSON.parse(localStorage.getItem(STORAGE_KEY));
    return entries && typeof entries === "object" ? entries : {};
  } catch {
    return {};
  }
}

function writeEntries(entries) {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(entries));
  } catch {
    // Storage is full or disabled: uploads still work, only without resume.
  }
}

function dropOldest(entries) {
  const keys = Object.keys(entries);
  if (keys.length <= MAX_ENTRIES) {
    return;
  }
  keys.sort((a, b) => entries[a].savedAt - entries[b].savedAt);
  for (const key of keys.slice(0, keys.length - MAX_ENTRIES)) {
    delete entries[key];
  }
}

/** Record the server's file id for a file this browser is uploading. */
export function rememberUpload(sessionId, name, file, fileId) {
  const entries = readEntries();
  entries[entryKey(sessionId, name, file)] = { fileId, sessionId, savedAt: Date.now() };
  dropOldest(entries);
  writeEntries(entries);
}

/** Return the file id of an earlier, unfinished upload of this file, or null. */
export function recallUpload(sessionId, name, file) {
  const entry = readEntries()[entryKey(sessionId, name, file)];
  return entry ? entry.fileId : null;
}

function forgetWhere(predicate) {
  const entries = readEntries();
  for (const [key, entry] of Object.entries(entries)) {
    if (predicate(entry)) {
      delete entries[key];
    }
  }
  writeEntries(entries);
}

export function forgetUpload(fileId) {
  forgetWhere((entry) => entry.fileId === fileId);
}

export function forgetSession(sessionId) {
  forgetWhere((entry) => entry.sessionId === sessionId);
}
