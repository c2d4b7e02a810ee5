// The account page: devices signed in, password change, sign-out and
// account deletion.

import * as accountApi from "./account-api.js";
import { onValidSubmit, passwordInput, reloadAtStart } from "./account-forms.js";
import { armThenRun } from "./controls.js";
import { TEST_IDS, el } from "./dom.js";
import { t } from "./i18n.js";
import { showError, showInfo } from "./toast.js";

function describeAccount(account) {
  return account.is_guest
    ? t("account.guest")
    : t("lobby.signedInAs", { name: account.username });
}

function routeButton(path, key) {
  return el("a", { href: path, class: "button button-primary", "data-route": true, text: t(key) });
}

export class AccountView {
  constructor(app) {
    this.app = app;
    this.devices = [];
  }

  mount(container) {
    this.container = container;
    this.render();
    this.loadDevices();
  }

  unmount() {}

  render() {
    document.title = t("page.title", { title: t("account.heading") });
    const { account } = this.app.state;
    if (!account) {
      this.container.replaceChildren(this.buildSignedOut());
      return;
    }
    this.deviceList = el("ul", { class: "device-list", testid: TEST_IDS.deviceList });
    this.container.replaceChildren(
      el(
        "section",
        { class: "view view-account" },
        el("a", { href: "/", class: "back-link", "data-route": true, text: t("nav.back") }),
        el("h1", { text: t("account.heading") }),
        el("p", { class: "account-line", text: describeAccount(account) }),
        account.is_guest ? this.buildKeepLink() : null,
        el("h2", { text: t("account.devicesHeading") }),
        this.deviceList,
        account.is_guest ? null : this.buildPasswordForm(),
        this.buildSignOutButtons(account),
        this.buildDeleteForm(account),
      ),
    );
    this.renderDevices();
  }

  buildSignedOut() {
    return el(
      "section",
      { class: "view view-account" },
      el("h1", { text: t("account.heading") }),
      el("p", { class: "lead", text: t("account.signedOut") }),
      routeButton("/signin", "auth.signIn"),
    );
  }

  buildKeepLink() {
    return el("p", {}, routeButton("/signup", "nav.keepAccount"));
  }

  async loadDevices() {
    if (!this.app.state.account) {
      return;
    }
    try {
      this.devices = (await accountApi.listDevices()).devices;
    } catch (error) {
      showError(error);
      return;
    }
    this.renderDevices();
  }

  renderDevices() {
    this.deviceList?.replaceChildren(...this.devices.map((device) => this.buildDeviceItem(device)));
  }

  buildDeviceItem(device) {
    const label = el("input", {
      type: "text",
      value: device.label,
      maxlength: 100,
      required: true,
      "aria-label": t("account.deviceLabel"),
      testid: TEST_IDS.deviceLabelInput,
    });
    const save = el("button", { type: "submit", class: "button", text: t("account.rename") });
    const form = el(
      "form",
      { class: "device-item", "data-device-id": device.id },
      label,
      device.current ? el("span", { class: "hint", text: t("account.thisDevice") }) : null,
      save,
    );
    onValidSubmit(form, save, () => this.rename(device, label.value));
    return el("li", {}, form);
  }

  async rename(device, label) {
    try {
      const body = await accountApi.renameDevice(device.id, label);
      device.label = body.device.label;
    } catch (error) {
      showError(error);
      return;
    }
    if (device.current) {
      this.app.state.device = { ...this.app.state.device, label: device.label };
      this.app.showDevice();
    }
    showInfo(t("account.renamed"));
  }

  buildPasswordForm() {
    const current = passwordInput(
      "current-password",
      "account.currentPassword",
      "current-password",
      TEST_IDS.currentPassword,
    );
    const next = passwordInput(
      "new-password",
      "account.newPassword",
      "new-password",
      TEST_IDS.newPassword,
      true,
    );
    const submit = el("button", {
      type: "submit",
      class: "button",
      testid: TEST_IDS.changePassword,
      text: t("account.changePassword"),
    });
    const form = el(
      "form",
      { class: "account-form" },
      el("h2", { text: t("account.passwordHeading") }),
      el("p", { class: "hint", text: t("account.passwordEffect") }),
      current.field,
      next.field,
      submit,
    );
    onValidSubmit(form, submit, async () => {
      try {
        await accountApi.changePassword(current.input.value, next.input.value);
      } catch (error) {
        showError(error);
        return;
      }
      reloadAtStart();
    });
    return form;
  }

  buildSignOutButtons(account) {
    // A guest account is bound to this browser alone, so signing it out
    // would leave it unreachable until it expires.
    if (account.is_guest) {
      return null;
    }
    const signOut = el("button", {
      type: "button",
      class: "button",
      testid: TEST_IDS.signOut,
      text: t("account.signOut"),
      on: { click: () => this.run(accountApi.signOut) },
    });
    const everywhere = el("button", {
      type: "button",
      class: "button",
      testid: TEST_IDS.signOutEverywhere,
      text: t("account.signOutEverywhere"),
      on: { click: () => this.run(accountApi.signOutEverywhere) },
    });
    return el("div", { class: "account-actions" }, signOut, everywhere);
  }

  buildDeleteForm(account) {
    const password = account.is_guest
      ? null
      : passwordInput(
          "delete-password",
          "account.currentPassword",
          "current-password",
          TEST_IDS.deletePassword,
        );
    const remove = el("button", {
      type: "button",
      class: "button button-danger",
      testid: TEST_IDS.deleteAccount,
      text: t("account.delete"),
    });
    armThenRun(remove, t("account.deleteConfirm"), async () => {
      if (password && !password.input.reportValidity()) {
        return;
      }
      await this.run(() => accountApi.deleteAccount(password?.input.value));
    });
    return el(
      "section",
      { class: "account-form" },
      el("h2", { text: t("account.deleteHeading") }),
      el("p", { class: "hint", text: t("account.deleteEffect") }),
      password?.field,
      remove,
    );
  }

  async run(action) {
    try {
      await action();
    } catch (error) {
      showError(error);
      return;
    }
    reloadAtStart();
  }
}
