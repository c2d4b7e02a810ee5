// The account links in the page header: sign in and sign up, or the
// account page.

import { IDS, TEST_IDS, el } from "./dom.js";
import { t } from "./i18n.js";

function link(path, key, testid) {
  return el("a", {
    href: path,
    class: "button button-quiet",
    "data-route": true,
    testid,
    text: t(key),
  });
}

/** Fill the header's account links for the current account, or none. */
export function renderAccountNav(account, features) {
  const nav = document.getElementById(IDS.accountNav);
  if (!nav) {
    return;
  }
  nav.setAttribute("aria-label", t("nav.account"));
  if (account && !account.is_guest) {
    nav.replaceChildren(link("/account", "nav.accountPage", TEST_IDS.accountLink));
    return;
  }
  const parts = [];
  if (account?.is_guest) {
    parts.push(link("/account", "nav.accountPage", TEST_IDS.accountLink));
    if (features.signupOpen) {
      parts.push(link("/signup", "nav.keepAccount", TEST_IDS.signUpLink));
    }
  } else if (features.signupOpen) {
    parts.push(link("/signup", "nav.signUp", TEST_IDS.signUpLink));
  }
  parts.push(link("/signin", "nav.signIn", TEST_IDS.signInLink));
  nav.replaceChildren(...parts);
}
