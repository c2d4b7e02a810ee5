// The interface's one message catalogue, English and Russian, and the
// choice between them: a stored choice, else the browser's languages.
// A message is a string with {name} placeholders, or an object of plural
// forms chosen by Intl.PluralRules from the `count` parameter.

import { ACCOUNT_MESSAGES } from "./i18n-account.js";

const STORAGE_KEY = "dropspace.lang";
const FALLBACK = "en";

const MESSAGES = {
  en: {
    "page.title": "{title} · DropSpace",
    "page.lobbyTitle": "DropSpace",
    "lang.label": "Language",
    "footer.device": "This device: {label}",
    "connection.reconnecting": "Connection lost. Reconnecting…",
    "nav.back": "← Your sessions",
    "nav.backToStart": "← Start page",
    "nav.start": "Go to the start page",
    "toast.close": "Close",
    "toast.subject": "{subject}: {message}",
    "errorPage.heading": "Error {status}",

    "unit.bytes": "B",
    "unit.kib": "KiB",
    "unit.mib": "MiB",
    "unit.gib": "GiB",
    "unit.tib": "TiB",
    "countdown.days": "{days} d {clock}",

    "lobby.welcomeHeading": "Move files between your devices",
    "lobby.welcomeText":
      "Create a temporary session, open it on your other devices with a link or a QR code, and drop files in. When the session ends, its files are deleted.",
    "lobby.startGuest": "Start without an account",
    "lobby.guestHint": "No sign-up: this browser gets a temporary guest account.",
    "lobby.joinHint": "Got a link from another device? Open it here to join without an account.",
    "lobby.heading": "Your sessions",
    "lobby.guest": "Guest account.",
    "lobby.guestExpires": "Guest account, deleted with its sessions in {left}.",
    "lobby.signedInAs": "Signed in as {name}.",
    "lobby.plan":
      "Plan {name} · live sessions: up to {sessions} · space: {capacity} each · longest lifetime: {lifetime}",
    "plan.guest": "guest",
    "plan.free": "free",
    "plan.pro": "pro",
    "device.browserOnSystem": "{browser} on {system}",
    "device.unknown": "Unknown device",
    "lobby.sessionsHeading": "Live sessions",
    "lobby.noSessions": "No live sessions yet. Create one to start.",
    "lobby.createHeading": "New session",
    "lobby.titleLabel": "Title (optional)",
    "lobby.lifetimeLabel": "Lifetime, minutes",
    "lobby.lifetimeHint": "From 1 to {max}.",
    "lobby.create": "Create session",

    "session.joining": "Joining the session…",
    "session.untitled": "Untitled session",
    "session.timeLeft": "Time left",
    "session.capacity": "Space used",
    "session.capacityOf": "{used} of {total}",
    "session.delete": "Delete session",
    "session.deleteConfirm": "Click again to delete",
    "session.problem": "This session cannot be shown. {message}",
    "session.notFound": "The link is unknown or was replaced.",

    "share.heading": "Invite another device",
    "share.hint": "Scan the code with a phone camera, or open the link on the other device.",
    "share.qrAlt": "QR code of the session's join link",
    "share.linkLabel": "Join link",
    "share.copy": "Copy link",
    "share.copied": "Link copied.",
    "share.copyManually": "Copying is blocked here. The link is selected: copy it by hand.",

    "drop.label": "Upload files",
    "drop.hint": "Drop files or folders here",
    "drop.chooseFiles": "Choose files",
    "drop.chooseFolder": "Choose a folder",

    "files.heading": "Files",
    "files.empty": "No files yet.",
    "files.byYou": "from this device",
    "files.by": "from {label}",
    "files.progressOf": "Upload progress of {name}",
    "files.download": "Download",
    "files.downloadNamed": "Download {name}",
    "files.delete": "Delete",
    "files.deleteNamed": "Delete {name}",
    "files.cancel": "Cancel",
    "files.cancelNamed": "Cancel the upload of {name}",

    "status.queued": "Waiting for its turn",
    "status.sending": "Uploading",
    "status.uploading": "Uploading",
    "status.finishing": "Checking…",
    "status.complete": "Done",
    "status.stopped": "Stopped",
    "status.retrying": "{message} Retrying…",
    "status.waiting": "Waiting to resume…",
    "status.failed": "Failed: {message}",
    "status.paused": "Paused. Pick the same file again to resume.",
    "status.pausedOnLeave":
      "Uploads paused. Open the session again and pick the same files to resume them.",

    "ended.expired": "This session has expired, and its files were deleted.",
    "ended.deleted": "This session was deleted, and its files with it.",
    "ended.unknown": "This session has ended.",
    "ended.uploadsStopped": {
      one: "{count} upload in progress was stopped.",
      other: "{count} uploads in progress were stopped.",
    },

    "error.unknown": "Something went wrong. Try again.",
    "error.bad_request": "{message}",
    "error.invalid_name": "This file name cannot be used. Rename the file and try again.",
    "error.invalid_size": "The file's size is invalid.",
    "error.invalid_lifetime": "Choose a lifetime from 1 minute to {max_lifetime}.",
    "error.invalid_title": "The title is longer than 200 characters or contains control characters.",
    "error.device_required":
      "This browser sent no device cookie. Allow cookies for this site and reload the page.",
    "error.account_required": "This needs an account. Start without an account on the start page.",
    "error.not_member": "This device is not in the session. Open the session's link again.",
    "error.token_replaced": "This browser's device cookie was just replaced. Reload the page.",
    "error.not_allowed": "Only the session's owner or the file's uploader can do this.",
    "error.origin_not_allowed":
      "The server rejected a request from this address. Open DropSpace at its public address.",
    "error.not_found": "Not found: the session, link or file no longer exists.",
    "error.offset_mismatch": "The upload got out of step with the server.",
    "error.upload_incomplete": "The upload is not complete yet.",
    "error.upload_not_active": "This upload is no longer active.",
    "error.upload_busy":
      "The server is still busy with an earlier part of this file. Pick the same file again to resume.",
    "error.checksum_mismatch":
      "The file arrived damaged (its SHA-256 did not match) and was discarded. Upload it again.",
    "error.chunk_too_large": "A chunk was larger than the server accepts ({max_bytes}).",
    "error.body_too_large": "The request was larger than the server accepts ({max_bytes}).",
    "error.size_exceeded": "More bytes arrived than the file's size. Upload it again.",
    "error.capacity_exceeded": "Not enough space in the session: {free} free.",
    "error.file_limit": "The session already holds as many files as it may. Delete some or start another session.",
    "error.chunk_timeout": "The connection stalled while sending. Retrying.",
    "error.internal_error": "Something went wrong on the server. Try again.",
    "error.session_limit":
      "Your plan allows {max_sessions} live sessions at once. Delete one or wait until one ends.",
    "error.session_ended": "The session has ended.",
    "error.rate_limited": "Too many attempts. Try again in {retry_after}.",
    "error.length_required": "The server needs the chunk's length.",
    "error.service_unavailable": "The server is unavailable for a moment.",
    "error.storage_unavailable": "The server's file storage is unavailable. Ask the server's operator to check the storage.",
    "error.network_error": "No connection to the server. Check the network.",
    "error.timeout": "The server did not answer in time.",
    "error.http_error": "The server answered with error {status}.",
    "error.unexpected_response": "The server sent an answer this page does not understand.",
    "error.file_unreadable": "The file cannot be read. It may have been moved or changed: pick it again.",
    "error.upload_failed": "The server discarded this upload. Upload the file again.",
    "error.file_removed": "The file was deleted from the session.",
    "error.cancelled": "The upload was cancelled.",
    "error.stopped": "The upload was paused.",
  },
  ru: {
    "page.title": "{title} · DropSpace",
    "page.lobbyTitle": "DropSpace",
    "lang.label": "Язык",
    "footer.device": "Это устройство: {label}",
    "connection.reconnecting": "Связь потеряна. Подключаюсь снова…",
    "nav.back": "← Ваши сессии",
    "nav.backToStart": "← На главную",
    "nav.start": "На главную страницу",
    "toast.close": "Закрыть",
    "toast.subject": "{subject}: {message}",
    "errorPage.heading": "Ошибка {status}",

    "unit.bytes": "Б",
    "unit.kib": "КиБ",
    "unit.mib": "МиБ",
    "unit.gib": "ГиБ",
    "unit.tib": "ТиБ",
    "countdown.days": "{days} д {clock}",

    "lobby.welcomeHeading": "Файлы между вашими устройствами",
    "lobby.welcomeText":
      "Создайте временную сессию, откройте её на других устройствах по ссылке или QR-коду и перетащите файлы. Когда сессия закончится, её файлы удалятся.",
    "lobby.startGuest": "Начать без регистрации",
    "lobby.guestHint": "Регистрация не нужна: браузер получит временную гостевую учётную запись.",
    "lobby.joinHint": "Есть ссылка с другого устройства? Откройте её здесь: учётная запись не нужна.",
    "lobby.heading": "Ваши сессии",
    "lobby.guest": "Гостевая учётная запись.",
    "lobby.guestExpires": "Гостевая учётная запись. Она и её сессии удалятся, осталось: {left}.",
    "lobby.signedInAs": "Вы вошли как {name}.",
    "lobby.plan":
      "Тариф {name} · сессий одновременно: до {sessions} · место: {capacity} на каждую · наибольший срок: {lifetime}",
    "plan.guest": "«Гость»",
    "plan.free": "«Бесплатный»",
    "plan.pro": "«Pro»",
    "device.browserOnSystem": "{browser} на {system}",
    "device.unknown": "Неизвестное устройство",
    "lobby.sessionsHeading": "Действующие сессии",
    "lobby.noSessions": "Действующих сессий пока нет. Создайте первую.",
    "lobby.createHeading": "Новая сессия",
    "lobby.titleLabel": "Название (необязательно)",
    "lobby.lifetimeLabel": "Срок, в минутах",
    "lobby.lifetimeHint": "От 1 до {max}.",
    "lobby.create": "Создать сессию",

    "session.joining": "Подключаюсь к сессии…",
    "session.untitled": "Сессия без названия",
    "session.timeLeft": "Осталось",
    "session.capacity": "Занято места",
    "session.capacityOf": "{used} из {total}",
    "session.delete": "Удалить сессию",
    "session.deleteConfirm": "Нажмите ещё раз для удаления",
    "session.problem": "Сессию не удаётся показать. {message}",
    "session.notFound": "Ссылка неизвестна или была заменена.",

    "share.heading": "Пригласить другое устройство",
    "share.hint": "Наведите камеру телефона на код или откройте ссылку на другом устройстве.",
    "share.qrAlt": "QR-код ссылки для входа в сессию",
    "share.linkLabel": "Ссылка для входа",
    "share.copy": "Копировать ссылку",
    "share.copied": "Ссылка скопирована.",
    "share.copyManually": "Здесь копирование запрещено. Ссылка выделена: скопируйте её вручную.",

    "drop.label": "Загрузка файлов",
    "drop.hint": "Перетащите сюда файлы или папки",
    "drop.chooseFiles": "Выбрать файлы",
    "drop.chooseFolder": "Выбрать папку",

    "files.heading": "Файлы",
    "files.empty": "Файлов пока нет.",
    "files.byYou": "с этого устройства",
    "files.by": "от {label}",
    "files.progressOf": "Ход загрузки {name}",
    "files.download": "Скачать",
    "files.downloadNamed": "Скачать {name}",
    "files.delete": "Удалить",
    "files.deleteNamed": "Удалить {name}",
    "files.cancel": "Отменить",
    "files.cancelNamed": "Отменить загрузку {name}",

    "status.queued": "Ждёт очереди",
    "status.sending": "Загружается",
    "status.uploading": "Загружается",
    "status.finishing": "Проверка…",
    "status.complete": "Готово",
    "status.stopped": "Остановлено",
    "status.retrying": "{message} Пробую снова…",
    "status.waiting": "Ждёт возможности продолжить…",
    "status.failed": "Ошибка: {message}",
    "status.paused": "Приостановлено. Выберите тот же файл ещё раз, чтобы продолжить.",
    "status.pausedOnLeave":
      "Загрузки приостановлены. Откройте сессию снова и выберите те же файлы, чтобы продолжить.",

    "ended.expired": "Срок сессии истёк, её файлы удалены.",
    "ended.deleted": "Сессия удалена вместе с файлами.",
    "ended.unknown": "Сессия завершена.",
    "ended.uploadsStopped": {
      one: "Остановлена {count} незавершённая загрузка.",
      few: "Остановлены {count} незавершённые загрузки.",
      many: "Остановлено {count} незавершённых загрузок.",
      other: "Остановлено незавершённых загрузок: {count}.",
    },

    "error.unknown": "Что-то пошло не так. Попробуйте ещё раз.",
    "error.bad_request": "Сервер не принял запрос: {message}",
    "error.invalid_name": "Такое имя файла недопустимо. Переименуйте файл и попробуйте снова.",
    "error.invalid_size": "Неверный размер файла.",
    "error.invalid_lifetime": "Выберите срок от 1 минуты. Наибольший срок: {max_lifetime}.",
    "error.invalid_title": "Название длиннее 200 символов или содержит управляющие символы.",
    "error.device_required":
      "Браузер не прислал cookie устройства. Разрешите cookie для этого сайта и перезагрузите страницу.",
    "error.account_required": "Для этого нужна учётная запись. Начните без регистрации на главной странице.",
    "error.not_member": "Это устройство не участвует в сессии. Откройте ссылку на сессию ещё раз.",
    "error.token_replaced": "Cookie устройства в этом браузере только что заменена. Перезагрузите страницу.",
    "error.not_allowed": "Это может сделать только владелец сессии или тот, кто загрузил файл.",
    "error.origin_not_allowed":
      "Сервер отклонил запрос с этого адреса. Откройте DropSpace по его основному адресу.",
    "error.not_found": "Не найдено: сессии, ссылки или файла больше нет.",
    "error.offset_mismatch": "Загрузка разошлась с сервером по смещению.",
    "error.upload_incomplete": "Загрузка ещё не завершена.",
    "error.upload_not_active": "Эта загрузка больше не идёт.",
    "error.upload_busy":
      "Сервер всё ещё занят предыдущей частью этого файла. Выберите тот же файл ещё раз, чтобы продолжить.",
    "error.checksum_mismatch":
      "Файл пришёл повреждённым (не совпал SHA-256) и удалён. Загрузите его снова.",
    "error.chunk_too_large": "Часть файла больше, чем принимает сервер ({max_bytes}).",
    "error.body_too_large": "Запрос больше, чем принимает сервер ({max_bytes}).",
    "error.size_exceeded": "Пришло больше байт, чем размер файла. Загрузите его снова.",
    "error.capacity_exceeded": "В сессии не хватает места: свободно {free}.",
    "error.file_limit": "В сессии уже максимум файлов. Удалите часть или начните другую сессию.",
    "error.chunk_timeout": "Передача зависла. Повторяем.",
    "error.internal_error": "Ошибка на сервере. Попробуйте ещё раз.",
    "error.session_limit":
      "Тариф разрешает действующих сессий одновременно: {max_sessions}. Удалите одну или дождитесь окончания.",
    "error.session_ended": "Сессия завершена.",
    "error.rate_limited": "Слишком много попыток. Повторите позже (ожидание: {retry_after}).",
    "error.length_required": "Серверу нужна длина части файла.",
    "error.service_unavailable": "Сервер ненадолго недоступен.",
    "error.storage_unavailable": "Хранилище файлов на сервере недоступно. Попросите администратора сервера проверить хранилище.",
    "error.network_error": "Нет связи с сервером. Проверьте сеть.",
    "error.timeout": "Сервер не ответил вовремя.",
    "error.http_error": "Сервер ответил ошибкой {status}.",
    "error.unexpected_response": "Сервер прислал ответ, который эта страница не понимает.",
    "error.file_unreadable":
      "Файл не читается. Возможно, его переместили или изменили: выберите его снова.",
    "error.upload_failed": "Сервер отбросил эту загрузку. Загрузите файл снова.",
    "error.file_removed": "Файл удалён из сессии.",
    "error.cancelled": "Загрузка отменена.",
    "error.stopped": "Загрузка приостановлена.",
  },
};

export const LANGUAGES = Object.keys(MESSAGES);
for (const language of LANGUAGES) {
  Object.assign(MESSAGES[language], ACCOUNT_MESSAGES[language]);
}

function storedLang() {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

function browserLang() {
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (LANGUAGES.includes(base)) {
      return base;
    }
  }
  return null;
}

function initialLang() {
  const stored = storedLang();
  if (LANGUAGES.includes(stored)) {
    return stored;
  }
  return browserLang() ?? FALLBACK;
}

let lang = initialLang();
const listeners = new Set();

export function currentLang() {
  return lang;
}

/** Switch the language, remember the choice and tell every listener. */
export function setLang(next) {
  if (!LANGUAGES.includes(next) || next === lang) {
    return;
  }
  lang = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Without storage the choice lasts until the page is closed.
  }
  document.documentElement.lang = next;
  listeners.forEach((listener) => listener(next));
}

/** Call `listener(lang)` after each language switch. */
export function onLangChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Add messages for one language from another catalogue module, so that
 * features keep their strings beside their code. Existing keys stay.
 */
export function addMessages(language, messages) {
  MESSAGES[language] = { ...messages, ...MESSAGES[language] };
}

export function hasMessage(key) {
  return key in MESSAGES[lang] || key in MESSAGES[FALLBACK];
}

function pluralForm(message, count) {
  if (typeof message === "string") {
    return message;
  }
  const category = new Intl.PluralRules(lang).select(Number(count) || 0);
  return message[category] ?? message.other;
}

/** Translate `key`, filling {name} placeholders from `params`. */
export function t(key, params = {}) {
  const message = MESSAGES[lang][key] ?? MESSAGES[FALLBACK][key] ?? key;
  return pluralForm(message, params.count).replace(/\{(\w+)\}/g, (match, name) =>
    name in params ? String(params[name]) : match,
  );
}

/** Fill every element with a data-i18n attribute under `root`. */
export function translateStatic(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) {
    node.textContent = t(node.dataset.i18n);
  }
  for (const node of root.querySelectorAll("[data-i18n-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nLabel));
  }
}
