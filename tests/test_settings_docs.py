"""The README's settings table matches the Settings class."""

import dataclasses
import re
from pathlib import Path

from server.settings import Settings, env_name

README = Path(__file__).parent.parent / "README.md"


def _documented_variables() -> dict[str, str]:
    rows = re.findall(
        r"^\| `(DROPSPACE_\w+)` \| [^|]+ \| ([^|]+) \|$", README.read_text(), re.M
    )
    return {name: meaning.strip() for name, meaning in rows}


def test_readme_lists_every_setting() -> None:
    documented = _documented_variables()
    expected = {env_name(item.name) for item in dataclasses.fields(Settings)}
    assert set(documented) == expected


def test_readme_help_matches_code() -> None:
    documented = _documented_variables()
    for item in dataclasses.fields(Settings):
        assert documented[env_name(item.name)] == item.metadata["help"]


def test_env_overrides_default() -> None:
    settings = Settings.from_env({"DROPSPACE_PORT": "9000", "DROPSPACE_HOST": "::1"})
    assert settings.port == 9000
    assert settings.host == "::1"


def test_env_rejects_bad_number() -> None:
    try:
        Settings.from_env({"DROPSPACE_PORT": "eighty"})
    except ValueError as error:
        assert "DROPSPACE_PORT='eighty'" in str(error)
    else:
        raise AssertionError("a non-numeric port was accepted")
