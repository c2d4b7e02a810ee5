// The sign-in and sign-up views. A guest's sign-up keeps the guest account
// and its sessions.

import * as accountApi from "./account-api.js";
import { labelledInput, onValidSubmit, passwordInput, reloadAtStart } from "./account-forms.js";
import { TEST_IDS, el } from "./dom.js";
import { t } from "./i18n.js";
import { showError } from "./toast.js";

function hintLink(path, key) {
  return el("p", { class: "hint" }, el("a", { href: path, "data-route": true, text: t(key) }));
}

export class AuthView {
  /** `mode` is "signin" or "signup". */
  constructor(app, mode) {
    this.app = app;
    this.mode = mode;
  }

  mount(container) {
    this.container = container;
    this.render();
  }

  unmount() {}

  get upgrading() {
    return this.mode === "signup" && Boolean(this.app.state.account?.is_guest);
  }

  render() {
    const signingUp = this.mode === "signup";
    const heading = t(signingUp ? "auth.signUpHeading" : "auth.signInHeading");
    document.title = t("page.title", { title: heading });
    if (signingUp && !this.app.features.signupOpen) {
      this.container.replaceChildren(this.buildClosed());
      return;
    }
    this.container.replaceChildren(this.buildForm());
  }

  buildClosed() {
    return el(
      "section",
      { class: "view view-auth" },
      el("h1", { text: t("auth.signUpHeading") }),
      el("p", { class: "lead", text: t("auth.signupClosed") }),
      el("a", { href: "/signin", class: "button", "data-route": true, text: t("auth.toSignIn") }),
    );
  }

  buildForm() {
    const signingUp = this.mode === "signup";
    const username = labelledInput(
      "auth-username",
      "auth.username",
      {
        type: "text",
        minlength: 3,
        maxlength: 32,
        autocomplete: "username",
        autocapitalize: "none",
        spellcheck: "false",
        testid: TEST_IDS.authUsername,
      },
      signingUp ? t("auth.usernameHint") : "",
    );
    const password = passwordInput(
      "auth-password",
      "auth.password",
      signingUp ? "new-password" : "current-password",
      TEST_IDS.authPassword,
      signingUp,
    );
    const submit = el("button", {
      type: "submit",
      class: "button button-primary",
      testid: TEST_IDS.authSubmit,
      text: t(signingUp ? "auth.signUp" : "auth.signIn"),
    });
    const form = el(
      "form",
      { class: "auth-form" },
      username.field,
      password.field,
      submit,
    );
    onValidSubmit(form, submit, () => this.submit(username.input.value, password.input.value));
    return el(
      "section",
      { class: "view view-auth" },
      el("h1", { text: t(signingUp ? "auth.signUpHeading" : "auth.signInHeading") }),
      this.upgrading ? el("p", { class: "lead", text: t("auth.upgradeText") }) : null,
      form,
      this.buildSwitchLink(),
    );
  }

  buildSwitchLink() {
    if (this.mode === "signup") {
      return hintLink("/signin", "auth.toSignIn");
    }
    return this.app.features.signupOpen ? hintLink("/signup", "auth.toSignUp") : null;
  }

  async submit(username, password) {
    try {
      if (this.mode === "signin") {
        await accountApi.signIn(username, password);
      } else if (this.upgrading) {
        await accountApi.upgradeGuest(username, password);
      } else {
        await accountApi.signUp(username, password);
      }
    } catch (error) {
      showError(error);
      return;
    }
    reloadAtStart();
  }
}
