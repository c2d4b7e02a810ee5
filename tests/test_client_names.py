"""The browser client recognises exactly the words of generated device labels."""

import re
from pathlib import Path

from server import devices

NAMES_JS = Path(__file__).parent.parent / "web" / "static" / "js" / "names.js"


def _js_list(name: str) -> list[str]:
    source = NAMES_JS.read_text("utf-8")
    found = re.search(rf"const {name} = \[(.*?)\];", source, re.S)
    assert found is not None, f"{name} is missing from {NAMES_JS}"
    return re.findall(r'"([^"]+)"', found.group(1))


def test_client_browsers_match_server() -> None:
    assert _js_list("BROWSERS") == [name for _, name in devices._BROWSERS]


def test_client_systems_match_server() -> None:
    assert _js_list("SYSTEMS") == [name for _, name in devices._SYSTEMS]


def test_client_unknown_label_matches_server() -> None:
    assert devices.label_from_user_agent("") == "Unknown device"
    assert '"Unknown device"' in NAMES_JS.read_text("utf-8")
