// The error page: translates the server's error and keeps the language
// switch working. The server's English message stays for unknown codes.

import { IDS } from "./dom.js";
import { ApiError, describeError } from "./errors.js";
import { currentLang, onLangChange, setLang, t, translateStatic } from "./i18n.js";

function translatePage() {
  document.documentElement.lang = currentLang();
  translateStatic();
  const heading = document.querySelector(".error-heading");
  heading.textContent = t("errorPage.heading", { status: heading.dataset.status });
  const message = document.querySelector(".error-message");
  message.dataset.serverMessage ??= message.textContent;
  const error = new ApiError({
    ok: false,
    code: message.dataset.code,
    message: message.dataset.serverMessage,
  });
  message.textContent = describeError(error);
}

const select = document.getElementById(IDS.langSwitch);
select.value = currentLang();
select.addEventListener("change", () => setLang(select.value));
onLangChange(translatePage);
translatePage();
