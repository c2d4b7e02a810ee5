// Form parts shared by the sign-in, sign-up and account views.

import { el } from "./dom.js";
import { t } from "./i18n.js";
import { clearErrors } from "./toast.js";

/** Build a labelled input; `attrs` go to the input element. */
export function labelledInput(id, labelKey, attrs, hintText = "") {
  const input = el("input", { id, name: id, required: true, ...attrs });
  const hint = hintText ? el("p", { class: "hint", id: `${id}-hint`, text: hintText }) : null;
  if (hint) {
    input.setAttribute("aria-describedby", hint.id);
  }
  const label = el("label", { for: id, text: t(labelKey) });
  const field = el("div", { class: "field" }, label, input, hint);
  return { field, input };
}

/**
 * Build a password input of at least 8 characters. The server checks the
 * upper limit, because it counts characters (code points after NFC) where
 * `maxlength` counts UTF-16 units.
 */
export function passwordInput(id, labelKey, autocomplete, testid, withHint = false) {
  return labelledInput(
    id,
    labelKey,
    { type: "password", minlength: 8, autocomplete, testid },
    withHint ? t("account.passwordHint") : "",
  );
}

/**
 * Call `action()` when the form is submitted and valid, with the submit
 * button disabled while it runs.
 */
export function onValidSubmit(form, submit, action) {
  // The browser's own check blocks a submit before the submit event, but it
  // fires "invalid" events, and an earlier error no longer applies then.
  form.addEventListener("invalid", () => clearErrors(), true);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    // An earlier attempt's error no longer applies to this one.
    clearErrors();
    if (!form.reportValidity()) {
      return;
    }
    submit.disabled = true;
    try {
      await action();
    } finally {
      submit.disabled = false;
    }
  });
}

/** Load the start page with the cookie the server just set. */
export function reloadAtStart() {
  // A full load, because the page's Socket.IO connection must reconnect
  // with the device's new token.
  window.location.assign("/");
}
