"""The detectors on screens the real CLIs drew (captured by scripts/capture_real.py, CLI version
in each file name): every prompt is found with the right kind, summary and keys at 80 and 120
columns, an idle screen is idle, and the raw bytes replayed through the emulator end idle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentdeck.core.screen.detect import detect
from agentdeck.core.screen.terminal import backends, make_emulator

REAL = Path(__file__).parent / "fixtures" / "real"
SCREENS = sorted(REAL.glob("*.json"))
STREAMS = sorted(REAL.glob("*.pty"))


def test_fixtures_exist_for_each_cli_at_both_widths() -> None:
    names = {p.stem for p in SCREENS}
    for cli in ("claude", "codex", "aider", "gemini", "opencode", "kilo", "qwen", "copilot"):
        for step in ("bash", "write", "idle"):
            for cols in (80, 120):
                assert any(n.startswith(f"{cli}-") and n.endswith(f"-{step}-{cols}")
                           for n in names), (cli, step, cols)


@pytest.mark.parametrize("fixture", SCREENS, ids=[p.stem for p in SCREENS])
def test_real_screen(fixture: Path) -> None:
    cli, _version, _step, cols = fixture.stem.split("-")
    text = fixture.with_name(fixture.stem + ".txt").read_text(encoding="utf-8")
    want = json.loads(fixture.read_text())
    for agent in (cli, None):  # its own detector, and the try-all that `agentdeck detect` uses
        got = detect(text.split("\n"), agent, cols=int(cols)).as_json()
        assert got == want, (agent, got)


@pytest.mark.parametrize("backend", backends())
@pytest.mark.parametrize("stream", STREAMS, ids=[p.stem for p in STREAMS])
def test_real_bytes_replayed_end_idle(stream: Path, backend: str) -> None:
    cli, _version, cols = stream.stem.split("-")
    emulator = make_emulator(int(cols), 40, 1000, backend)
    emulator.feed(stream.read_bytes())
    found = detect(emulator.lines(), cli, emulator.cursor()[1], emulator.cols,
                   emulator.wrapped_rows())
    assert found.state == "idle" and found.prompt is None, "\n".join(emulator.lines())
