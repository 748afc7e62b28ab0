"""A QR code in the terminal (segno, BSD): what a phone's camera opens to pair with
`agentdeck serve`. Without segno (the `serve` extra) the link alone is shown."""

from __future__ import annotations

import io


def terminal_qr(text: str) -> str:
    """`text` as a QR code drawn with half blocks (two rows a line), dark on the terminal's
    light ink; "" when segno is not installed."""
    try:
        import segno
    except ImportError:
        return ""
    out = io.StringIO()
    segno.make(text, error="m").terminal(out=out, compact=True, border=2)
    return out.getvalue()
