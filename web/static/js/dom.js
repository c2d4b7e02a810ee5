// DOM hooks: the element ids of the page shell, the data-testid values that
// tests select by, and a small element builder.

export const IDS = {
  bootstrap: "bootstrap",
  view: "view",
  toasts: "toasts",
  connection: "connection-status",
  langSwitch: "lang-switch",
  deviceLabel: "device-label",
  accountNav: "account-nav",
};

export const TEST_IDS = {
  startGuest: "start-guest",
  createSession: "create-session",
  sessionTitleInput: "session-title-input",
  sessionLifetimeInput: "session-lifetime-input",
  sessionList: "session-list",
  joinLink: "join-link",
  copyLink: "copy-link",
  qr: "qr",
  countdown: "countdown",
  capacity: "capacity",
  fileInput: "file-input",
  folderInput: "folder-input",
  dropZone: "drop-zone",
  fileList: "file-list",
  fileRow: "file-row",
  downloadLink: "download-link",
  deleteFile: "delete-file",
  deleteSession: "delete-session",
  uploadProgress: "upload-progress",
  sessionEnded: "session-ended",
  sessionProblem: "session-problem",
  errorMessage: "error-message",
  langSwitch: "lang-switch",
  pairingPanel: "pairing-panel",
  pairingCode: "pairing-code",
  pairingQr: "pairing-qr",
  memberList: "member-list",
  memberRow: "member-row",
  removeMember: "remove-member",
  codeInput: "code-input",
  codeSubmit: "code-submit",
  replaceLink: "replace-link",
  replaceAfterRemoval: "replace-after-removal",
  removalNotice: "removal-notice",
  pickDevice: "pick-device",
  pickSession: "pick-session",
  pickCreate: "pick-create",
  signInLink: "sign-in-link",
  signUpLink: "sign-up-link",
  accountLink: "account-link",
  authUsername: "auth-username",
  authPassword: "auth-password",
  authSubmit: "auth-submit",
  deviceList: "device-list",
  deviceLabelInput: "device-label-input",
  currentPassword: "current-password",
  newPassword: "new-password",
  changePassword: "change-password",
  signOut: "sign-out",
  signOutEverywhere: "sign-out-everywhere",
  deletePassword: "delete-password",
  deleteAccount: "delete-account",
  extendSession: "extend-session",
};

const PROPERTIES = new Set(["value", "checked", "disabled", "hidden", "multiple"]);

function applyAttribute(node, name, value) {
  if (value === undefined || value === null || value === false) {
    return;
  }
  if (name === "class") {
    node.className = value;
  } else if (name === "text") {
    node.textContent = value;
  } else if (name === "testid") {
    node.dataset.testid = value;
  } else if (name === "on") {
    for (const [type, handler] of Object.entries(value)) {
      node.addEventListener(type, handler);
    }
  } else if (PROPERTIES.has(name)) {
    node[name] = value;
  } else {
    node.setAttribute(name, value === true ? "" : String(value));
  }
}

/**
 * Create an element. `attrs` are attributes, plus `class`, `text`,
 * `testid` (data-testid) and `on` (event listeners by type). Children are
 * nodes or strings, and null children are skipped.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    applyAttribute(node, name, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child);
    }
  }
  return node;
}

/** Find the first element under `root` with the given data-testid. */
export function byTestId(root, testId) {
  return root.querySelector(`[data-testid="${testId}"]`);
}
