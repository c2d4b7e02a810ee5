// Messages of pairing and membership, English and Russian: the lobby's
// code and QR code, the session's device list and code box, and the page
// that adds a scanned device to a session.

import { addMessages } from "./i18n.js";

addMessages("en", {
  "pairing.heading": "Add this device to a session",
  "pairing.hint":
    "On a session page on another device, type this code. Or scan the QR code with a phone that is signed in.",
  "pairing.codeLabel": "Pairing code of this device",
  "pairing.qrAlt": "QR code that adds this device to a session",
  "pairing.waiting": "Getting a code…",
  "pairing.pulled": "This device was added to “{title}”.",
  "pairing.untitled": "a session",

  "members.heading": "Devices",
  "members.online": "online",
  "members.offline": "offline",
  "members.you": "this device",
  "members.owner": "owner",
  "members.joinedAt": "joined {time}",
  "members.remove": "Remove",
  "members.removeNamed": "Remove {label} from the session",
  "members.removeConfirm": "Click again to remove",
  "members.removedLinkStillWorks":
    "{label} was removed. Whoever used it can still come back through this session's link from another browser or device until you replace the link.",
  "members.replaceAfterRemoval": "Replace the link",
  "members.keepLink": "Keep the link",

  "codeBox.label": "Code shown on another device",
  "codeBox.hint": "The other device shows it on its DropSpace start page.",
  "codeBox.submit": "Add device",
  "codeBox.added": "{label} was added.",

  "share.replace": "Replace link",
  "share.replaceConfirm": "Click again to replace",
  "share.replaced": "The old link and QR code no longer admit new devices, removed ones included.",

  "ended.removed": "The session's owner removed this device from the session.",

  "pick.heading": "Add a device to a session",
  "pick.device": "Device: {label}",
  "pick.checking": "Checking the link…",
  "pick.ownDevice": "This link belongs to this device. Scan it with another device.",
  "pick.needAccount": "Adding a device needs an account. Start without one here, then pick a session.",
  "pick.sessionsHeading": "Pick a session",
  "pick.noSessions": "No live sessions yet. Create one below.",
  "pick.addTo": "Add to “{title}”",
  "pick.createHeading": "Or create a new session",
  "pick.createAndAdd": "Create and add",

  "error.code_rejected": "The code is wrong, expired or already used. Type the code the other device shows now.",
  // The server's message names the value that was typed.
  "error.bad_code": "{message}",
});

addMessages("ru", {
  "pairing.heading": "Добавить это устройство в сессию",
  "pairing.hint":
    "Введите этот код на странице сессии на другом устройстве. Или отсканируйте QR-код телефоном, на котором выполнен вход.",
  "pairing.codeLabel": "Код этого устройства",
  "pairing.qrAlt": "QR-код, который добавляет это устройство в сессию",
  "pairing.waiting": "Получаю код…",
  "pairing.pulled": "Это устройство добавлено в «{title}».",
  "pairing.untitled": "сессию",

  "members.heading": "Устройства",
  "members.online": "в сети",
  "members.offline": "не в сети",
  "members.you": "это устройство",
  "members.owner": "владелец",
  "members.joinedAt": "подключено в {time}",
  "members.remove": "Убрать",
  "members.removeNamed": "Убрать {label} из сессии",
  "members.removeConfirm": "Нажмите ещё раз, чтобы убрать",
  "members.removedLinkStillWorks":
    "{label} убрано из сессии. Тот, кто им пользовался, может вернуться по ссылке на сессию из другого браузера или с другого устройства, пока вы не замените ссылку.",
  "members.replaceAfterRemoval": "Заменить ссылку",
  "members.keepLink": "Оставить ссылку",

  "codeBox.label": "Код с другого устройства",
  "codeBox.hint": "Другое устройство показывает его на стартовой странице DropSpace.",
  "codeBox.submit": "Добавить устройство",
  "codeBox.added": "{label} добавлено.",

  "share.replace": "Заменить ссылку",
  "share.replaceConfirm": "Нажмите ещё раз, чтобы заменить",
  "share.replaced": "Старая ссылка и QR-код больше не впускают новые устройства, в том числе убранные.",

  "ended.removed": "Владелец сессии убрал из неё это устройство.",

  "pick.heading": "Добавить устройство в сессию",
  "pick.device": "Устройство: {label}",
  "pick.checking": "Проверяю ссылку…",
  "pick.ownDevice": "Эта ссылка ведёт на это же устройство. Отсканируйте её другим устройством.",
  "pick.needAccount": "Чтобы добавить устройство, нужна учётная запись. Начните без регистрации и выберите сессию.",
  "pick.sessionsHeading": "Выберите сессию",
  "pick.noSessions": "Активных сессий пока нет. Создайте новую ниже.",
  "pick.addTo": "Добавить в «{title}»",
  "pick.createHeading": "Или создайте новую сессию",
  "pick.createAndAdd": "Создать и добавить",

  "error.code_rejected": "Код неверный, устарел или уже использован. Введите код, который другое устройство показывает сейчас.",
  "error.bad_code":
    "Код должен состоять из {code_digits} цифр 0–9. Введите цифры, которые показывает другое устройство; пробелы и дефисы между ними допустимы.",
});
