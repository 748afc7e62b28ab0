"""Detectors on screens as the agents draw them, at 80 and 120 columns, and on look-alikes
that are not prompts: the words in a diff or in prose, an answered prompt, a half-drawn one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentdeck.core.screen.detect import detect
from tests.conftest import run_agentdeck

SCREENS = Path(__file__).parent / "fixtures" / "screens"


def screen(name: str) -> str:
    return (SCREENS / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "agent", "kind", "summary", "keys"), [
    ("gemini_shell_80.txt", "gemini", "bash", "ls -la [current working directory /tmp/work] "
     "(List files)", ("1", "2", "3")),
    ("gemini_edit_120.txt", "gemini", "write", "hello.txt", ("1", "2", "4")),
    ("claude_mcp_120.txt", "claude", "mcp", 'jira - get_issue(key: "SHOP-12")', ("1", "2", "3")),
    ("claude_fetch_80.txt", "claude", "fetch", "https://docs.python.org/3/library/json.html",
     ("1", "2", "3")),
    ("claude_bash_wrapped_80.txt", "claude", "bash",
     'python -m pytest tests/test_auth.py tests/test_tokens.py -k "expiry or refresh" -q',
     ("1", "2", "3")),
    ("codex_edit_120.txt", "codex", "edit", "src/payments/flow.py (+14 -2)", ("y", "a", "\x1b")),
    ("aider_add_file_120.txt", "aider", "other",
     "Add file to the chat? src/search/index.py", ("y\r", "a\r", "n\r")),
    ("generic_yn_80.txt", None, "other", "Proceed with installation?", ("y\r", None, "n\r")),
    # any TUI agent's cursor menu, an Inquirer-style "?" before its question (the README's
    # worked example)
    ("generic_cursor_menu_80.txt", None, "other", "Run `alembic upgrade head`?",
     ("\r", "\x1b[B\x00\r", "\x1b[B\x00\x1b[B\x00\r")),
    # opencode wraps a long command in its panel (a real 80-column screen, the command made
    # longer)
    ("opencode_longbash_80.txt", "opencode", "bash",
     'python -m pytest tests/test_auth.py tests/test_tokens.py -k "expiry or refresh" -q '
     "--maxfail=1", ("\r", "\x1b[C\x00\r\x00\r", "\x1b")),
    # Crush, drawn after its source (no real screen yet: its binary cannot be installed here)
    ("crush_bash_80.txt", "crush", "bash", "rm -f agentdeck_probe.txt", ("a", "s", "d")),
    ("crush_write_stacked_44.txt", "crush", "write", "~/src/shop-auth/notes.txt",
     ("a", "s", "d")),
])
def test_prompts(name: str, agent: str | None, kind: str, summary: str,
                 keys: tuple[str, str | None, str]) -> None:
    found = detect(screen(name), agent)
    assert found.state == "waiting", found
    assert found.prompt is not None
    assert (found.prompt.kind, found.prompt.summary) == (kind, summary)
    assert (found.prompt.allow, found.prompt.allow_always, found.prompt.deny) == keys
    # without knowing the agent kind, the same prompt is still found
    assert detect(screen(name)).prompt == found.prompt


def test_copilot_retrying_a_failed_call_is_working_not_idle() -> None:
    """Copilot CLI retrying ("Response was interrupted due to a server error. Retrying...")
    keeps its input box drawn above a status line that reads "◉ Working esc interrupt"."""
    box = ["─" * 80, "❯", "─" * 80]
    text = ["● Response was interrupted due to a server error. Retrying...", "", *box,
            " ◉ Working esc esc interrupt                                    fake-model"]
    assert detect(text, "copilot").state == "working"
    assert detect([*text[:-1], " / commands · ? help"], "copilot").state == "idle"


@pytest.mark.parametrize(("name", "agent", "state"), [
    ("claude_working_120.txt", "claude", "working"),
    ("claude_idle_80.txt", "claude", "idle"),
    ("claude_ratelimit_80.txt", "claude", "rate-limited"),
    ("codex_working_80.txt", "codex", "working"),
    ("crush_working_80.txt", "crush", "working"),
    ("crush_idle_80.txt", "crush", "idle"),
    ("neg_diff_80.txt", "claude", "working"),
    ("neg_prose_80.txt", "claude", "idle"),
    ("neg_answered_scrolled_80.txt", "aider", "idle"),
    ("neg_half_drawn_80.txt", "claude", "unknown"),
])
def test_states_and_look_alikes(name: str, agent: str, state: str) -> None:
    found = detect(screen(name), agent)
    assert found.prompt is None, found.prompt
    assert found.state == state
    assert detect(screen(name)).prompt is None


def test_rate_limit_reset_time_is_read() -> None:
    found = detect(screen("claude_ratelimit_80.txt"), "claude")
    assert found.reset == "reset at 3pm (Europe/Berlin)"


def test_prompt_signature_changes_with_the_prompt() -> None:
    first = detect(screen("claude_fetch_80.txt"), "claude").prompt
    other = detect(screen("claude_fetch_80.txt").replace("json.html", "csv.html"), "claude").prompt
    assert first and other and first.signature != other.signature


def test_detect_command_on_text_and_raw_bytes(tmp_path: Path) -> None:
    result = run_agentdeck("detect", "--agent", "codex", str(SCREENS / "codex_edit_120.txt"),
                           cwd=tmp_path)
    assert result.code == 0, result.err
    assert json.loads(result.out) == {"state": "waiting", "prompt": {
        "kind": "edit", "summary": "src/payments/flow.py (+14 -2)", "allow": "y",
        "allow_always": "a",
        "deny": "\x1b"}}
    raw = tmp_path / "raw.bin"
    raw.write_bytes(b"\x1b[2J\x1b[Hbuilding\r\n\x1b[1mOverwrite config.yml? [y/n]\x1b[0m ")
    result = run_agentdeck("detect", "--raw", "--cols", "80", str(raw), cwd=tmp_path)
    assert json.loads(result.out)["prompt"]["kind"] == "write"
    bad = run_agentdeck("detect", "--agent", "nope", str(raw), cwd=tmp_path)
    assert bad.code == 2 and bad.err.count("\n") == 1


def test_an_unechoed_answer_is_not_a_prompt_once_the_cursor_moved_on() -> None:
    """A program in raw mode does not echo `y`: the question stays on screen unanswered-looking.
    With the cursor below it, it is no longer pending (it was queued twice before this)."""
    lines = ["building", "Run npm test 3? [y/n]", ""]
    assert detect(lines, None, cursor_row=1).prompt is not None
    assert detect(lines, None, cursor_row=2).prompt is None
    aider = ["src/x.py", "Create new file? (Y)es/(N)o [Yes]:", ""]
    assert detect(aider, "aider", cursor_row=1).prompt is not None
    assert detect(aider, "aider", cursor_row=2).prompt is None


@pytest.mark.parametrize("line", [
    "$ echo 'Overwrite all files? [y/n] '", "bash-5.2# read -p 'Run make deploy? [y/n] '",
    "me@box:~/app$ printf \"Proceed? (y/n)\"", "% echo Deploy now? [Y/n]"])
def test_a_question_typed_at_a_shell_is_not_a_prompt(line: str) -> None:
    # the user is writing a command; pressing y would type into it (the question it prints,
    # once run, is one)
    assert detect(["", line], None, 1, 80).prompt is None
    assert detect(["", line, "Deploy now? [y/n] "], None, 2, 80).prompt is not None


def test_gemini_bare_shell_title_takes_the_command_from_the_question() -> None:
    text = screen("gemini_shell_80.txt").replace(
        "?  Shell ls -la [current working directory /tmp/work] (List files)",
        "?  Shell                                                           ")
    found = detect(text, "gemini")
    assert found.prompt is not None
    assert (found.prompt.kind, found.prompt.summary) == ("bash", "ls")


@pytest.mark.parametrize(("name", "agent", "keys"), [
    ("claude_wrapped_49.txt", "claude", ("1", "2", "3")),
    ("codex_wrapped_49.txt", "codex", ("y", "p", "\x1b")),
    ("aider_wrapped_49.txt", "aider", ("y\r", None, "n\r")),
])
def test_prompts_wrapped_at_49_columns(name: str, agent: str,
                                       keys: tuple[str, str | None, str]) -> None:
    """Captured from the demo agents in a 49-column PTY: footer, options and question wrap."""
    found = detect(screen(name), agent, cols=49)
    assert found.prompt is not None
    assert (found.prompt.kind, found.prompt.summary) == ("bash", "git log --oneline -3")
    assert (found.prompt.allow, found.prompt.allow_always, found.prompt.deny) == keys
    if agent != "claude":  # without the width, rows stay apart and the footer is not believed
        assert detect(screen(name), agent).prompt is None
    # (a dialog in a closed box is whole without the width: what wrapped below the box is not
    # part of it)


def test_detect_command_joins_wrapped_rows_given_the_width(tmp_path: Path) -> None:
    path = str(SCREENS / "aider_wrapped_49.txt")
    wrapped = run_agentdeck("detect", "--agent", "aider", "--cols", "49", path, cwd=tmp_path)
    assert json.loads(wrapped.out)["state"] == "waiting"


def test_a_row_that_exactly_fills_the_width_is_not_joined_when_the_emulator_knows() -> None:
    rows = ["  Would you like to make the following edits?", "", "  src/x.py (+6 -0)", "",
            "› 1. Yes, proceed (y)",
            "  2. Yes, and don't ask again for these files (a)",  # 49 columns, not wrapped
            "  3. No, and tell Codex what to do differently (e", "sc)", "",
            "  Press enter to confirm or esc to cancel"]
    assert len(rows[5]) == 49
    found = detect(rows, "codex", cols=49, wrapped={6})
    assert found.prompt is not None and found.prompt.allow_always == "a"


RETRY_SCREENS = [
    # Claude Code 2.1.33x retrying after a 429, its input box below (drawn as it draws them)
    ("claude", "✻ Working on it…\n  ⎿  API error · retrying in 24s · attempt 1/10\n\n"
               + "─" * 60 + "\n❯ \n" + "─" * 60 + "\n  ⏵⏵ auto mode on (shift+tab to cycle)",
     "retrying, 1/10"),
    ("claude", "⏺ Reading files\n  ⎿  API Error: Request rejected (429) · usage limits\n\n"
               + "─" * 60 + "\n❯ \n" + "─" * 60, "gave up: 429"),
    ("codex", "• Working (12s • esc to interrupt)\n■ Server is busy, reconnecting 2/5 …\n\n"
              "› Ask Codex to do anything", "retrying, 2/5"),
    ("codex", "■ exceeded retry limit, last status: 429 Too Many Requests\n\n"
              "› Ask Codex to do anything", "gave up: 429"),
    # as the issue saw them: the retry's rows a few rows above the input box, the footer saying
    # esc to interrupt (Claude), the rows several above the composer (Codex)
    ("claude", "❯ make the notes\n\n✻ API error · retrying in 12s · attempt 2/10\n\n\n\n"
               + "─" * 60 + "\n❯ \n" + "─" * 60 + "\n  ⏸ manual mode on · esc to interrupt",
     "retrying, 2/10"),
    ("codex", "• Server is busy, reconnecting 4/5 (1m 12s • esc to interrupt)\n\n\n\n\n\n"
              "› Ask Codex to do anything\n\n  gpt-5 default · ~/app", "retrying, 4/5"),
    ("codex", "• Server is busy, reconnecting 5/5\n  └ Exceeded retry limit, last status: 429 Too "
              "Many Requests\n\n\n\n\n› Ask Codex to do anything\n\n  ? for shortcuts",
     "gave up: 429"),
    # Aider (litellm) retrying, its spinner under the line; then given up, at its prompt again
    ("aider", "litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached\n"
              "The API provider has rate limited you. Try again later or check your quotas.\n"
              "Retrying in 8.0 seconds...\n█░   Waiting for openai/fake-model", "retrying"),
    ("aider", "litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached\n"
              "The API provider has rate limited you. Try again later or check your quotas.\n"
              "─" * 60 + "\nReadonly: brief.md\ndiff> ", "gave up: 429"),
]


@pytest.mark.parametrize(("agent", "text", "detail"), RETRY_SCREENS)
def test_retrying_and_rejected_calls_are_rate_limited(agent: str, text: str,
                                                      detail: str) -> None:
    """Read wherever the CLI draws them on its screen, with what the limit is doing beside the
    state: "rate-limited (retrying, 2/10)", "rate-limited (gave up: 429)"."""
    from agentdeck.core.fleet.views import state_text

    found = detect(text.split("\n"), agent)
    assert (found.state, found.detail, found.reset) == ("rate-limited", detail, None)
    assert state_text(found.state, None, found.reset, found.detail) == f"rate-limited ({detail})"


def test_gave_up_lasts_until_the_user_sends_anything() -> None:
    box = ["─" * 60, "❯ ", "─" * 60, "  ⏸ manual mode on · ? for shortcuts"]
    gave_up = ["❯ make the notes", "", "● API Error: Request rejected (429) · This request would "
               "exceed your account's rate limit.", "  Please try again later.", ""]
    assert detect([*gave_up, *box], "claude").detail == "gave up: 429"
    typed = [*box[:1], "❯ go on", *box[2:]]  # typed, not sent
    assert detect([*gave_up, *typed], "claude").detail == "gave up: 429"
    sent = [*gave_up, "❯ go on", "", "✻ Kneading… (2s · ↓ 12 tokens)", "", *box]
    assert detect(sent, "claude").state == "working"
    answered = [*gave_up, "❯ go on", "", "● Done.", "", "✻ Worked for 4s", "", *box]
    assert detect(answered, "claude").state == "idle"


def test_an_agent_working_again_after_its_limit_is_working_with_the_text_on_screen() -> None:
    limited = (SCREENS / "claude_ratelimit_80.txt").read_text().rstrip("\n").split("\n")
    assert detect(limited, "claude").state == "rate-limited"
    box = limited[-3:]  # its input box
    resumed = [*limited[:-3], "✻ Thinking… (3s · esc to interrupt)", *box]
    assert detect(resumed, "claude").state == "working"
    codex = ["■ You've hit your usage limit. Try again at 3:00 PM.", "› continue",
             "• Working (2s • esc to interrupt)", "", "› Ask Codex to do anything"]
    assert detect(codex, "codex").state == "working"
    # the limit's text below the status line is the limit (a retry within the turn)
    assert detect(codex[2:3] + codex[:1], "codex").state == "rate-limited"


def test_claude_idle_by_its_input_box_whatever_its_footer_says() -> None:
    footer = "  ⏵⏵ auto mode on (shift+tab to cycle) · ← for agents"
    text = "✻ Welcome\n\n" + "─" * 80 + "\n❯ \n" + "─" * 80 + "\n" + footer
    assert detect(text.split("\n"), "claude").state == "idle"
    # a ❯ that is no input box (a menu's cursor, with no rules around it) is not idle
    assert detect(["Pick one", "❯ 1. Yes", "  2. No"], "claude").state != "idle"


@pytest.mark.parametrize("tail", ["input box", "half a status line"])
def test_a_qwen_prompt_in_a_frame_drawn_in_pieces_is_that_prompt(tail: str) -> None:
    """A frame drawn in pieces: Qwen's confirmation box with, below it, for a moment the input
    box it replaces, or its status line half written. Still the shell prompt (read as a menu
    of kind "other" it became a second queue entry once the frame was whole: CI under load)."""
    real = Path(__file__).parent / "fixtures" / "real" / "qwen-0.24.4-bash-120.txt"
    lines = real.read_text(encoding="utf-8").rstrip("\n").split("\n")
    while not lines[-1].strip():
        lines.pop()
    if tail == "input box":
        lines += ["─" * 120, ">   Type your message or @path/to/file", "─" * 120,
                  "  ➜ wt · git:(master) · fake-model",
                  "  ⏸ Ask permissions (shift + tab to cycle)"]
    else:
        assert "Waiting for user confirmation" in lines[-1]
        lines[-1] = lines[-1][:18]  # "  ⠏ Waiting for us"
    for agent in ("qwen", None):
        found = detect(lines, agent, cols=120)
        assert found.prompt is not None
        assert (found.prompt.kind, found.prompt.summary) == ("bash", "echo ran > ran.txt")


def test_a_long_command_short_of_the_edge_is_not_joined_with_the_line_under_it() -> None:
    # (found by the notifications' test: the widest row of a screen was taken as the edge, so a
    # long command was always "wrapped" into its description)
    screen = ("\n Bash command\n\n   curl -H 'Authorization: Bearer abc' "
              "https://api.example.com/deploy/now\n   Deploy it\n\n Do you want to proceed?\n"
              " > 1. Yes\n   2. No\n\n Esc to cancel\n")
    found = detect(screen.splitlines(), "claude", cols=100)
    assert found.prompt is not None
    assert found.prompt.summary == ("curl -H 'Authorization: Bearer abc' "
                                    "https://api.example.com/deploy/now")


def test_a_menu_anywhere_above_its_key_hint_is_a_prompt_but_not_one_in_the_conversation() -> None:
    """Codex draws its trust dialog at the top of a tall, otherwise empty screen; the same
    menu quoted in a conversation above an input box is no dialog."""
    dialog = ["", "  Folder access", "  /srv/app", "",
              "  Trust this folder? Codex can read, edit, and run files here.", "",
              "› 1. Trust and continue", "  2. Back to Agent Command Center", "",
              "  enter continue · esc back"]
    tall = dialog + [""] * 50
    for agent in ("codex", None):
        found = detect(tall, agent, cols=200)
        assert found.state == "waiting" and found.prompt is not None, agent
        assert found.prompt.kind == "other"
        assert found.prompt.summary == "Trust this folder? — /srv/app"
        assert [label for label, _ in found.prompt.options] == [
            "Trust and continue", "Back to Agent Command Center"]
    box = ["─" * 80, "❯ ", "─" * 80, "  ? for shortcuts"]
    assert detect(["● It asked:", *dialog, "", *box], "claude").prompt is None


def test_codex_questions_are_entries_of_kind_other_with_their_options() -> None:
    rows = ["› make the notes", "", "  Question 1/3 (3 unanswered)",
            "  Which database should the tests use?", "",
            "  › 1. Postgres (Recommended)  Matches production.",
            "    2. SQLite                  Faster, but differs from production.",
            "    3. None of the above       Optionally, add details in notes (tab)", "",
            "  tab to add notes | enter to submit answer | ←/→ to navigate questions | esc to "
            "interrupt"]
    found = detect(rows, "codex", cols=120)
    assert found.state == "waiting" and found.prompt is not None
    assert (found.prompt.kind, found.prompt.summary) == (
        "other", "Which database should the tests use? (question 1/3)")
    assert found.prompt.options == (("Postgres (Recommended)", "\r"),
                                    ("SQLite", "\x1b[B\x00\r"),
                                    ("None of the above", "\x1b[B\x00\x1b[B\x00\r"))


def test_aider_names_the_command_whose_output_it_offers() -> None:
    rows = ["Run shell command? (Y)es/(N)o/(D)on't ask again [Yes]: y", "Running ls -la",
            "total 28", "-rw-r--r-- 1 root root   30 Dec  7 08:44 notes.txt",
            "Add command output to the chat? (Y)es/(N)o/(D)on't ask again [Yes]: "]
    found = detect(rows, "aider")
    assert found.prompt is not None
    assert (found.prompt.kind, found.prompt.summary) == (
        "other", "Add command output to the chat? ls -la")
