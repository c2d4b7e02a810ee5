// Fetch wrappers for the account routes. Each throws an ApiError on failure.

import { send, sendJson } from "./api.js";

export const signUp = (username, password) =>
  sendJson("POST", "/api/signup", { username, password });
export const upgradeGuest = (username, password) =>
  sendJson("POST", "/api/upgrade", { username, password });
export const signIn = (username, password) =>
  sendJson("POST", "/api/signin", { username, password });
export const signOut = () => send("POST", "/api/signout");
export const signOutEverywhere = () => send("POST", "/api/signout-everywhere");
export const changePassword = (currentPassword, newPassword) =>
  sendJson("POST", "/api/password", {
    current_password: currentPassword,
    new_password: newPassword,
  });
export const deleteAccount = (password) => sendJson("DELETE", "/api/account", { password });
export const listDevices = () => send("GET", "/api/devices");
export const renameDevice = (deviceId, label) =>
  sendJson("PATCH", `/api/devices/${encodeURIComponent(deviceId)}`, { label });
export const extendSession = (sessionId, lifetimeS) =>
  sendJson("POST", `/api/sessions/${encodeURIComponent(sessionId)}/extend`, {
    lifetime_s: lifetimeS,
  });
