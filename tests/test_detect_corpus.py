"""The detectors on a corpus of real screens and partial screens (tests/fixtures/corpus, see its
README): Claude Code, Codex, Gemini, opencode, Copilot and Aider working (every spinner verb and
counter form), idle, finished turns, quoted phrases that look like status, typed input, retrying
and given-up rate limits, questions and dialogs, at 80, 120 and 200 columns and on tall screens.

Each screen goes through `agentdeck detect --agent KIND --cols N FILE` — the command's parser
and function, in process (one per CLI also as a separate process) — and must say what its JSON
says: the state exactly, the rate limit's detail exactly (none when none is given), and of a
prompt its kind, its summary (exactly, or holding each of `summary_has`) and how many options.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agentdeck.cli import build_parser
from agentdeck.commands.tools import cmd_detect
from tests.conftest import run_agentdeck

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
SCREENS = sorted(CORPUS.glob("*.txt"))
CLIS = ("claude", "codex", "gemini", "opencode", "copilot")


def detect_file(path: Path, agent: str, cols: int, capsys: pytest.CaptureFixture[str]
                ) -> dict[str, object]:
    args = build_parser().parse_args(["detect", "--agent", agent, "--cols", str(cols),
                                      str(path)])
    assert cmd_detect(args) == 0
    out: dict[str, object] = json.loads(capsys.readouterr().out)
    return out


def mismatches(want: dict[str, object], got: dict[str, object]) -> list[str]:
    """What of `want` the detector's answer `got` does not say."""
    wrong = []
    if got["state"] != want["state"]:
        wrong.append(f"state {got['state']!r}, not {want['state']!r}")
    if got.get("detail") != want.get("detail"):
        wrong.append(f"detail {got.get('detail')!r}, not {want.get('detail')!r}")
    prompt = got.get("prompt")
    expect = want.get("prompt")
    if not isinstance(expect, dict):
        if prompt is not None and want["state"] != "waiting":
            wrong.append(f"a prompt: {prompt}")
        return wrong
    if not isinstance(prompt, dict):
        return [*wrong, "no prompt"]
    summary = str(prompt["summary"])
    if prompt["kind"] != expect["kind"]:
        wrong.append(f"kind {prompt['kind']!r}, not {expect['kind']!r}")
    if "summary" in expect and summary != expect["summary"]:
        wrong.append(f"summary {summary!r}, not {expect['summary']!r}")
    wrong += [f"summary {summary!r} lacks {part!r}" for part in expect.get("summary_has", [])
              if part not in summary]
    if "options" in expect and len(prompt.get("options") or ()) != expect["options"]:
        wrong.append(f"{len(prompt.get('options') or ())} options, not {expect['options']}")
    return wrong


def test_the_corpus_is_whole() -> None:
    """At least 150 screens; every CLI working, idle and quoted; Claude Code's and Codex's
    limits and dialogs at each width, pinned and newest, and tall screens."""
    names = [p.stem for p in SCREENS]
    assert len(names) >= 150, len(names)
    for cli in CLIS:
        for scenario in ("working", "finished", "quoted"):
            assert any(n.startswith(f"{cli}-") and f"-{scenario}" in n for n in names), (
                cli, scenario)
    for cli, dialogs in (("claude", ("trust", "apikey", "onboarding-theme", "onboarding-notes",
                                     "retrying", "gave-up")),
                         ("codex", ("trust", "question", "retrying", "gave-up"))):
        versions = {n.split("-")[1] for n in names if n.startswith(f"{cli}-")}
        assert len(versions) >= 2, (cli, versions)  # the pinned and the newest
        for dialog in dialogs:
            for size in ("80x24", "120x40", "200x60"):
                assert any(n.startswith(f"{cli}-") and f"-{dialog}-{size}" in n
                           for n in names), (cli, dialog, size)
    assert any(n.startswith("aider-") and "-output-" in n for n in names)
    assert any("-crop" in n for n in names)  # partial screens


@pytest.mark.parametrize("screen", SCREENS, ids=[p.stem for p in SCREENS])
def test_corpus_screen(screen: Path, capsys: pytest.CaptureFixture[str]) -> None:
    want = json.loads(screen.with_suffix(".json").read_text(encoding="utf-8"))
    got = detect_file(screen, str(want["agent"]), int(want["cols"]), capsys)
    assert not mismatches(want, got), (mismatches(want, got), screen.read_text())


# -- Claude Code's spinner: every verb, every counter form -----------------------------------
VERBS = json.loads((CORPUS / "claude-spinner-verbs.json").read_text(encoding="utf-8"))
SPINNER = re.compile(r"^[·✢✳✶✻✽] \S+… \(.*\)$", re.MULTILINE)
FORMS = [
    "{glyph} {verb}…",
    "{glyph} {verb}… (12s · ↑ 200 tokens)",
    "{glyph} {verb}… (9m 22s · ↓ 14.1k tokens · thought for 36s)",
    "{glyph} {verb}… (1s · ↓ 14 tokens · thinking)",
    "{glyph} {verb}… (3s · esc to interrupt)",
    "{glyph} {verb}… (ctrl+c to interrupt · 3m 17s)",
    "{glyph} {verb}… (23s · ↑ 1.2k tokens · esc to interrupt)",
]


def _working_screen() -> tuple[str, int]:
    path = CORPUS / "claude-2.1.332-working-text-120x40-1.txt"
    return path.read_text(encoding="utf-8"), 120


@pytest.mark.parametrize("form", FORMS)
def test_every_spinner_verb_and_counter_form_is_work(form: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Claude Code 2.1.332's own spinner verbs (read from its binary) in each counter form,
    in its status row above the input box, the footer's "esc to interrupt" taken away: the row
    alone says it works."""
    text, cols = _working_screen()
    text = re.sub(r"esc to interrupt", "? for shortcuts", text)
    assert SPINNER.search(text)
    for i, verb in enumerate(VERBS["working"]):
        row = form.format(glyph="·✢✳✶✻✽"[i % 6], verb=verb)
        path = tmp_path / "screen.txt"
        path.write_text(SPINNER.sub(row, text, count=1), encoding="utf-8")
        assert detect_file(path, "claude", cols, capsys)["state"] == "working", row


def test_every_finished_turn_verb_is_done(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Its finished-turn verbs in "✻ Worked for 3m" say it is done (once: this was checked
    again in each counter form's test above, the same screens seven times)."""
    text, cols = _working_screen()
    text = re.sub(r"esc to interrupt", "? for shortcuts", text)
    for verb in VERBS["finished"]:
        for took in ("1m 22s", "3m", "4s · done 8:41 AM"):
            path = tmp_path / "screen.txt"
            path.write_text(SPINNER.sub(f"✻ {verb} for {took}", text, count=1),
                            encoding="utf-8")
            assert detect_file(path, "claude", cols, capsys)["state"] == "idle", (verb, took)


@pytest.mark.parametrize("cli", CLIS)
def test_the_detect_command_itself_on_the_corpus(cli: str, tmp_path: Path) -> None:
    """The command as a user runs it, on one working screen of each CLI."""
    screen = next(p for p in SCREENS if p.stem.startswith(f"{cli}-") and "-working-" in p.stem)
    want = json.loads(screen.with_suffix(".json").read_text(encoding="utf-8"))
    result = run_agentdeck("detect", "--agent", cli, "--cols", str(want["cols"]), str(screen),
                           cwd=tmp_path)
    assert result.code == 0, result.err
    assert not mismatches(want, json.loads(result.out))
