"""QR codes for join links, drawn as SVG by the qrcode package."""

import qrcode
import qrcode.image.svg


def qr_svg(text: str) -> str:
    """Return an SVG document whose QR code encodes the text."""
    image = qrcode.make(
        text,
        image_factory=qrcode.image.svg.SvgPathFillImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=2,
    )
    svg: str = image.to_string(encoding="unicode")
    return svg
