// Names the server generates in English, shown in the page's language.

import { t } from "./i18n.js";

// The server labels a new device "BROWSER on SYSTEM" from its user agent,
// with these words only; a label the user typed is shown as typed.
const BROWSERS = ["Edge", "Opera", "Firefox", "Chrome", "Chromium", "Safari", "curl", "Python"];
const SYSTEMS = ["Android", "iPhone", "iPad", "Windows", "macOS", "ChromeOS", "Linux"];
const GENERATED_LABEL = /^(\S+) on (\S+)$/;

/** Return a device label in the page's language when the server made it. */
export function deviceLabel(label) {
  if (label === "Unknown device") {
    return t("device.unknown");
  }
  const parts = GENERATED_LABEL.exec(label ?? "");
  if (parts && BROWSERS.includes(parts[1]) && SYSTEMS.includes(parts[2])) {
    return t("device.browserOnSystem", { browser: parts[1], system: parts[2] });
  }
  return label ?? "";
}

/** Return a plan's name in the page's language, or its own name if unknown. */
export function planName(name) {
  const key = `plan.${name}`;
  const text = t(key);
  return text === key ? name : text;
}
