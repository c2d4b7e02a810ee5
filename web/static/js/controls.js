// Behaviours shared by buttons: confirm-by-second-click and copy to the
// clipboard.

const ARMED_MS = 5000;

/**
 * Make `button` run `action` only on a second click within 5 s. The first
 * click shows `armedLabel`. This replaces a confirm() dialog, which blocks
 * the page and cannot be styled or translated.
 */
export function armThenRun(button, armedLabel, action) {
  const idleLabel = button.textContent;
  let timer = null;
  const disarm = () => {
    clearTimeout(timer);
    button.classList.remove("is-armed");
    button.textContent = idleLabel;
  };
  button.addEventListener("click", async () => {
    if (!button.classList.contains("is-armed")) {
      button.classList.add("is-armed");
      button.textContent = armedLabel;
      timer = setTimeout(disarm, ARMED_MS);
      return;
    }
    disarm();
    button.disabled = true;
    try {
      await action();
    } finally {
      button.disabled = false;
    }
  });
}

/**
 * Copy the text of `input` and return whether it worked. The Clipboard API
 * exists on secure origins only, so plain HTTP falls back to the older copy
 * command. When both fail, the text stays selected for a manual copy.
 */
export async function copyText(input) {
  try {
    await navigator.clipboard.writeText(input.value);
    return true;
  } catch {
    input.focus();
    input.select();
    // execCommand is deprecated but is the only copy on a plain-HTTP LAN page.
    return document.execCommand("copy");
  }
}
