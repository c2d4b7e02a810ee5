"""The error the server returns for a pairing code that is not 11 ASCII digits."""

import pytest

from tests.devices import NewDevice
from tests.pairing import redeem
from tests.servers import RunningServer
from tests.test_pairing import owner_with_session

ARABIC_INDIC = "\u0661\u0662\u0663 \u0664\u0665\u0666\u0667 \u0668\u0669\u0660\u0661"
FULL_WIDTH = "\uff11" * 11
NBSP = "123\u00a04567\u00a08901"
EN_DASH = "123\u20134567\u20138901"


@pytest.mark.parametrize(
    "typed",
    [
        "1234567890",
        "123456789012",
        ARABIC_INDIC,
        FULL_WIDTH,
        NBSP,
        "123\t4567",
        EN_DASH,
    ],
)
async def test_malformed_code_message(
    server: RunningServer, new_device: NewDevice, typed: str
) -> None:
    owner, session = await owner_with_session(new_device, server)

    answer = await redeem(owner, session["id"], typed)

    assert answer["code"] == "bad_request"
    assert answer["code_digits"] == 11
    assert "Type the 11 digits 0-9 shown on the other device" in answer["message"]
    assert repr(typed) in answer["message"]


async def test_code_not_text_rejected(
    server: RunningServer, new_device: NewDevice
) -> None:
    owner, session = await owner_with_session(new_device, server)

    answer = await owner.call(
        "pairing:redeem", {"session_id": session["id"], "code": 12345678901}
    )

    assert answer["code"] == "bad_request"
    assert answer["code_digits"] == 11
    assert "Type the 11 digits 0-9" in answer["message"]
