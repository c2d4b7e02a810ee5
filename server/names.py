"""File names: validation of declared names and safe download headers.

A declared name is only ever a display string: stored files live under
generated ids, so a name like `../../etc/passwd` cannot reach the disk.
"""

import re
import unicodedata
from urllib.parse import quote

from server.errors import InvalidName

MAX_NAME_BYTES = 255
# Cc control, Cf format (bidi controls among them), Cs surrogate, Zl and Zp
# line and paragraph separators.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_ZERO_WIDTH_JOINER = "\u200d"
_SEPARATORS = re.compile(r"[/\\]")
_FALLBACK_UNSAFE = re.compile(r"[^A-Za-z0-9 !#$%&\'()*+,\-.;=@\[\]^_`{}~]")


def validate_name(raw: object, index: int = 0) -> str:
    """Return the NFC form of a declared file name, or raise InvalidName."""
    if not isinstance(raw, str):
        raise InvalidName(
            f"File name {raw!r} is not a string; send the name as text.", index=index
        )
    name = unicodedata.normalize("NFC", raw)
    _check_characters(name, index)
    size = len(name.encode())
    if name.strip() == "":
        raise InvalidName(
            f"File name {name!r} is only spaces; give the file a name.", index=index
        )
    if size == 0:
        raise InvalidName("File name is empty; give the file a name.", index=index)
    if size > MAX_NAME_BYTES:
        raise InvalidName(
            f"File name {name[:40]!r}… is {size} bytes of UTF-8; "
            f"shorten it to at most {MAX_NAME_BYTES} bytes.",
            index=index,
        )
    if last_part(name) in {"", ".", ".."}:
        raise InvalidName(
            f"File name {name!r} has no usable last part; name the file itself.",
            index=index,
        )
    return name


def unsafe_character(text: str) -> tuple[int, str] | None:
    """Return the position and character of the first unsafe one, or None.

    Unsafe are control characters, line and paragraph separators, lone
    surrogates, and invisible format characters such as bidirectional
    overrides, which can disguise a name. The zero-width joiner stays
    allowed, because emoji sequences need it.
    """
    for position, char in enumerate(text):
        category = unicodedata.category(char)
        if category in _UNSAFE_CATEGORIES and char != _ZERO_WIDTH_JOINER:
            return position, char
    return None


def _check_characters(name: str, index: int) -> None:
    found = unsafe_character(name)
    if found is not None:
        position, char = found
        raise InvalidName(
            f"File name {name!r} contains the control or invisible character "
            f"U+{ord(char):04X} at position {position}; remove it.",
            index=index,
        )


def last_part(name: str) -> str:
    """Return what follows the last `/` or `\\`: the name a download gets."""
    return _SEPARATORS.split(name)[-1]


def ascii_fallback(name: str) -> str:
    """Return an ASCII-only form of a name that keeps its extension."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    stem_ascii = _to_ascii(stem).strip(" .")
    extension_ascii = _to_ascii(extension).strip(" .")
    if not stem_ascii:
        stem_ascii = "download"
    if extension_ascii:
        return f"{stem_ascii}.{extension_ascii}"
    return stem_ascii


def _to_ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = decomposed.encode("ascii", "ignore").decode()
    return _FALLBACK_UNSAFE.sub("_", ascii_text)


def content_disposition(name: str) -> str:
    """Return an attachment header with an ASCII fallback and RFC 8187 name."""
    download_name = last_part(name)
    fallback = ascii_fallback(download_name)
    encoded = quote(download_name, safe="")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
