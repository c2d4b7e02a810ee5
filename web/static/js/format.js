// Sizes, durations and countdowns in the interface language.

import { currentLang, t } from "./i18n.js";

const SIZE_UNITS = ["unit.bytes", "unit.kib", "unit.mib", "unit.gib", "unit.tib"];

function number(value, maxFractionDigits) {
  return new Intl.NumberFormat(currentLang(), {
    maximumFractionDigits: maxFractionDigits,
  }).format(value);
}

/** Format a byte count with binary units: "1.5 MiB", "0 B". */
export function formatBytes(bytes) {
  let value = Math.max(0, Number(bytes) || 0);
  let unit = 0;
  while (value >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${number(value, digits)} ${t(SIZE_UNITS[unit])}`;
}

/** Format a percentage that is never NaN: an empty total counts as done. */
export function formatPercent(done, total) {
  return `${number(percentOf(done, total), 0)}%`;
}

/** Return 0 to 100; a zero total is 100 because nothing is left to send. */
export function percentOf(done, total) {
  if (!(total > 0)) {
    return 100;
  }
  return Math.min(100, Math.max(0, (done * 100) / total));
}

function unitText(value, unit) {
  return new Intl.NumberFormat(currentLang(), {
    style: "unit",
    unit,
    unitDisplay: "long",
    maximumFractionDigits: 1,
  }).format(value);
}

/** Format a length of time in seconds with its largest whole unit. */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  if (s >= 86400 && s % 86400 === 0) {
    return unitText(s / 86400, "day");
  }
  if (s >= 3600 && s % 3600 === 0) {
    return unitText(s / 3600, "hour");
  }
  if (s >= 60 && s % 60 === 0) {
    return unitText(s / 60, "minute");
  }
  return unitText(s, "second");
}

/** Format a rough time left, such as "23 hours", in one rounded unit. */
export function formatTimeLeft(seconds) {
  const s = Math.max(0, Number(seconds) || 0);
  const units = [
    [2 * 86400, 86400, "day"],
    [2 * 3600, 3600, "hour"],
    [2 * 60, 60, "minute"],
  ];
  for (const [threshold, unitSeconds, unit] of units) {
    if (s >= threshold) {
      return unitText(Math.round(s / unitSeconds), unit);
    }
  }
  return unitText(Math.round(s), "second");
}

function twoDigits(value) {
  return String(value).padStart(2, "0");
}

/** Format time left as "m:ss", "h:mm:ss" or "2 d 03:04:05". */
export function formatCountdown(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = twoDigits(total % 60);
  if (days > 0) {
    const clock = `${twoDigits(hours)}:${twoDigits(minutes)}:${seconds}`;
    return t("countdown.days", { days, clock });
  }
  if (hours > 0) {
    return `${hours}:${twoDigits(minutes)}:${seconds}`;
  }
  return `${minutes}:${seconds}`;
}
