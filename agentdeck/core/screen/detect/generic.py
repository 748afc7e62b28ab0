"""Any program: "[y/n]"-style questions and "1. Yes … 2. No" menus at the bottom of the screen."""

from __future__ import annotations

import re

from agentdeck.core.screen.detect.base import (
    UNKNOWN,
    WAITING,
    Detection,
    Prompt,
    Screen,
    find_menu,
    signature,
)
from agentdeck.core.screen.detect.menus import find_select_menu, press_enter

YN_RE = re.compile(r"(\[(?:y/n|Y/n|y/N|yes/no)\]|\((?:y/n|Y/n|y/N|yes/no)\)|\(Y\)es/\(N\)o)"
                   r"(?P<rest>[^:?]*)[:?]?\s*(?P<answer>\S*)\s*$")
QUESTION_RE = re.compile(r"\?\s*$")
# a command line being typed at a shell ("$ echo 'Overwrite? [y/n]'", "bash-5.2# read -p …",
# "me@box:~/app$ …"): its question is text the user is writing, not one that waits
SHELL_LINE_RE = re.compile(r"^\S*[$#%] ")
KIND_WORDS = (("run", "bash"), ("execut", "bash"), ("command", "bash"), ("overwrite", "write"),
              ("create", "write"), ("write", "write"), ("edit", "edit"), ("modify", "edit"),
              ("fetch", "fetch"), ("download", "fetch"), ("url", "fetch"))


def _kind(text: str) -> str:
    lower = text.lower()
    return next((k for word, k in KIND_WORDS if word in lower), "other")


def detect(screen: Screen) -> Detection:
    prompt = find_prompt(screen)
    return Detection(WAITING, prompt) if prompt else Detection(UNKNOWN)


def find_prompt(screen: Screen) -> Prompt | None:
    if screen.last < 0:
        return None
    last = screen.lines[screen.last]
    m = YN_RE.search(last)
    typed = m is not None and (SHELL_LINE_RE.match(last) or any(q in m.group("rest")
                                                                 for q in "'\""))
    if m and not typed and not m.group("answer") and not screen.cursor_left(screen.last):
        question = last[: m.start()].strip() or last
        always = "a\r" if "(A)ll" in m.group("rest") or "/a" in m.group(1).lower() else None
        return Prompt(kind=_kind(question), summary=question, allow="y\r", allow_always=always,
                      deny="n\r", signature=signature("generic", last, str(screen.last)))
    menu = find_menu(screen, QUESTION_RE, 12, slack=1)
    if menu is None:
        # a cursor menu (trust this folder? use this key?), or a screen that waits for Enter
        return find_select_menu(screen) or press_enter(screen)
    question = screen.lines[menu.question]
    always = menu.allow_always
    return Prompt(kind=_kind(question), summary=question, allow=menu.allow + "\r",
                  allow_always=always + "\r" if always else None, deny=menu.deny + "\r",
                  signature=signature("generic", *screen.lines[menu.question: menu.end + 1]))
