"""The installable web app's icons and manifest (`agentdeck serve`): drawn here as PNG at the
sizes asked for (no image files to ship, no imaging library to need), and its manifest: a
name, a theme colour, full-screen display, a start on the approvals queue."""

from __future__ import annotations

import functools
import itertools
import json
import struct
import zlib

NAME = "agentdeck"
THEME = "#0c181f"  # the page's background: the status bar and splash match it
SIZES = (180, 192, 512)  # Apple's touch icon; the two every manifest needs
START = "/?view=queue"  # opened from the home screen: straight to the queue
# three cards of a deck, back to front: (colour, left, top, right, bottom) in 1/16ths
CARDS = (((0x5e, 0x0b, 0xa7), 4, 2, 13, 10), ((0x2f, 0x80, 0xed), 3.5, 4, 12.5, 12),
         ((0xf5, 0xa6, 0x23), 3, 6, 12, 14))
BACKGROUND = (0x0c, 0x18, 0x1f)
# a check mark on the front card (an answered prompt): two strokes, in 1/16ths
CHECK = ((5, 10), (6.8, 11.8), (10, 7.8))
STROKE = 0.55


@functools.cache
def icon_png(size: int) -> bytes:
    """The icon as a `size` x `size` PNG: full-bleed background (a maskable icon may be cut
    to a circle: the cards stay inside its middle 80 %). Drawn row by row as spans (a card's
    row is one run of pixels; only the check mark's box is looked at pixel by pixel)."""
    unit = size / 16
    radius = unit * 0.8
    background = bytes(BACKGROUND)
    rows = []
    for y in range(size):
        row = bytearray(background * size)
        cy = y + 0.5
        for rgb, left, top, right, bottom in CARDS:
            span = _card_span(cy, left * unit, top * unit, right * unit, bottom * unit, radius)
            if span is not None:
                x0, x1 = span
                row[3 * x0:3 * x1] = bytes(rgb) * (x1 - x0)
        for a, b in itertools.pairwise(CHECK):
            if not (min(a[1], b[1]) - STROKE) * unit <= cy <= (max(a[1], b[1]) + STROKE) * unit:
                continue
            lo = max(0, int((min(a[0], b[0]) - STROKE) * unit))
            hi = min(size, int((max(a[0], b[0]) + STROKE) * unit) + 1)
            for x in range(lo, hi):
                if _near((x + 0.5) / unit, cy / unit, a, b):
                    row[3 * x:3 * x + 3] = background
        rows.append(b"\x00" + bytes(row))  # (filter: none)
    return _png(size, size, b"".join(rows))


def _card_span(y: float, left: float, top: float, right: float, bottom: float,
               radius: float) -> tuple[int, int] | None:
    """The pixels [x0, x1) of a rounded card on the row whose middle is at `y`."""
    if not top <= y <= bottom:
        return None
    corner = max(top + radius - y, y - (bottom - radius), 0.0)
    inset = radius - (radius * radius - min(corner, radius) ** 2) ** 0.5
    x0, x1 = round(left + inset), round(right - inset)
    return (x0, x1) if x1 > x0 else None


def _near(x: float, y: float, a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether (x, y) is within STROKE of the segment a-b."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    t = max(0.0, min(1.0, ((x - a[0]) * dx + (y - a[1]) * dy) / (dx * dx + dy * dy)))
    return (x - a[0] - t * dx) ** 2 + (y - a[1] - t * dy) ** 2 <= STROKE ** 2


def _png(width: int, height: int, raw: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def manifest(prefix: str = "/app") -> str:
    """The web app manifest: installable, full-screen, started on the queue."""
    icons = [{"src": f"{prefix}/icon-{size}.png", "sizes": f"{size}x{size}",
              "type": "image/png", "purpose": "any"} for size in SIZES if size != 180]
    icons.append({"src": f"{prefix}/icon-512.png", "sizes": "512x512", "type": "image/png",
                  "purpose": "maskable"})
    return json.dumps({
        "name": NAME, "short_name": NAME, "id": "/",
        "description": "Your coding agents' permission prompts, answered from here",
        "start_url": START, "scope": "/", "display": "fullscreen",
        "display_override": ["fullscreen", "standalone"], "orientation": "any",
        "theme_color": THEME, "background_color": THEME, "icons": icons}, indent=1)
