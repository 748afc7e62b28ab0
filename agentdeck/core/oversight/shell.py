"""A shell command line as bash would run it: its simple commands and what joins them.

Approval rules decide on this, not on the line's text: a regular expression over the text cannot
tell `npm test` from `npm test && touch ~/pwned`. The parser is tree-sitter's bash grammar (MIT).
It recovers from errors the way an editor needs and bash does not, so wherever it might read a
line otherwise than bash (or zsh, the shell many agents run commands in) would, the line is
`refused` — no rule may allow it — while the commands it did read are still there for deny
rules: an error or text the parser skipped, a character outside printable ASCII (look-alikes:
a fullwidth semicolon, a no-break space, a zero-width joiner, a Cyrillic letter in a program's
name), a line continuation, a comment, a variable or any expansion whose value only exists once
the line runs, a bare word holding a character the shell treats specially.
"""

from __future__ import annotations

import functools
import shlex
from dataclasses import dataclass

import tree_sitter
import tree_sitter_bash

# what joins commands into one line: a rule allows them only with `compound: true`
OPERATORS = frozenset({";", "&", "&&", "||", "|", "|&"})
_NESTING = {"subshell": "( )", "compound_statement": "{ }", "command_substitution": "$( )",
            "process_substitution": "<( )"}
_REDIRECTS = {"file_redirect": "a redirection", "heredoc_redirect": "a here-document",
              "herestring_redirect": "a here-string"}
# what an unquoted word may hold and still be plain text in bash and zsh alike. Glob characters
# stay as written (a rule's regex that accepts `*` has accepted any file name there); braces
# (expansion), `!` (history, negation), `^` (zsh's negated glob, old sh's pipe), `$`, quotes,
# `;&|<>()` and blanks are left out: such a word is one the parser may read otherwise than the
# shell does. A backslash makes the next character plain, as in the shell.
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:=@%+,~*?[]-#")
_WHY = {"simple_expansion": "a variable", "expansion": "a variable", "arithmetic_expansion":
        "arithmetic", "ansi_c_string": "a $'…' string", "translated_string": "a $\"…\" string",
        "brace_expression": "a brace expansion"}


@dataclass(frozen=True)
class Command:
    """One simple command: its words as the program gets them (a word that is not plain text
    stands as written, `$(…)` included) and the `NAME=value` assignments before them."""

    argv: tuple[str, ...]
    assignments: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The command normalised: assignments, program and arguments joined by single spaces,
        a word that holds a blank or a shell character quoted (`echo 'a; b'`), so that no
        argument reads as two words or as an operator."""
        return " ".join((*self.assignments, *(_shown(word) for word in self.argv)))


@dataclass(frozen=True)
class CommandLine:
    source: str
    # every simple command, those nested in substitutions, subshells, redirections and
    # here-documents included
    commands: tuple[Command, ...]
    # what makes it more than one plain command: operators ("&&", "|", ";", "&"), "several
    # commands" (newlines), nesting ("$( )", "( )") and redirections, each named once
    joins: tuple[str, ...] = ()
    refused: str = ""  # why no rule may allow it; "" when one may

    @property
    def compound(self) -> bool:
        return bool(self.joins)


@functools.cache
def _language() -> tree_sitter.Language:
    return tree_sitter.Language(tree_sitter_bash.language())


def parse(line: str) -> CommandLine:
    source = line.encode("utf-8", "surrogatepass")
    reader = _Reader(source)
    if not all(ch in "\t\n" or " " <= ch <= "~" for ch in line):
        reader.refuse("a character outside printable ASCII")
    if "\\\n" in line:
        # bash joins the two lines even inside a word; the parser splits the word there
        reader.refuse("a line continuation")
    # (a parser per call: the queue asks from several threads at once)
    root = tree_sitter.Parser(_language()).parse(source).root_node
    if root.has_error:
        reader.refuse("not a whole command line (unbalanced quote, bracket or operator)")
    elif _skipped(root, source):
        reader.refuse("text the parser skipped")
    statements = 0
    for child in root.children:
        if child.is_named:
            statements += child.type != "comment"
            reader.statement(child)
        elif child.type in OPERATORS:
            reader.join(child.type)
        else:
            reader.refuse(f"'{child.type}'")
    if statements > 1:
        reader.join("several commands")
    if not reader.commands:
        reader.refuse("no command")
    return CommandLine(line, tuple(reader.commands), tuple(reader.joins),
                       reader.refusals[0] if reader.refusals else "")


def _skipped(root: tree_sitter.Node, source: bytes) -> bool:
    """Whether any non-blank byte of the line is in no leaf of the tree: text the parser
    passed over is text whose meaning the rule would not have seen."""
    covered = bytearray(len(source))
    stack = [root]
    while stack:
        node = stack.pop()
        if node.child_count and node.type not in ("string", "heredoc_body"):
            stack.extend(node.children)
        else:  # (what lies between the parts of a string or a here-document is its text)
            covered[node.start_byte:node.end_byte] = b"\x01" * (node.end_byte - node.start_byte)
    return any(not covered[i] and source[i] not in b" \t\n" for i in range(len(source)))


class _Reader:
    """Walks the tree once: collects the simple commands, what joins them, and the first
    reason (if any) no rule may allow the line."""

    def __init__(self, source: bytes) -> None:
        self.source = source
        self.commands: list[Command] = []
        self.joins: list[str] = []
        self.refusals: list[str] = []

    def refuse(self, why: str) -> None:
        if why not in self.refusals:
            self.refusals.append(why)

    def join(self, what: str) -> None:
        if what not in self.joins:
            self.joins.append(what)

    def text(self, node: tree_sitter.Node) -> str:
        return self.source[node.start_byte:node.end_byte].decode("utf-8", "replace")

    def statement(self, node: tree_sitter.Node) -> None:
        kind = node.type
        if kind == "command":
            self.command(node)
        elif kind in ("list", "pipeline", "redirected_statement", "subshell",
                      "compound_statement"):
            if kind in _NESTING:
                self.join(_NESTING[kind])
            for child in node.children:
                if child.type in _REDIRECTS:
                    self.redirect(child)
                elif child.is_named:
                    self.statement(child)
                elif child.type in OPERATORS:
                    self.join(child.type)
                elif child.type not in ("(", ")", "{", "}"):
                    self.refuse(f"an unexpected '{child.type}'")
        elif kind == "comment":
            # harmless to the shell, but text the user reads and the rule does not
            self.refuse("a comment")
        else:
            # control flow, `!`, `[[ ]]`, declarations, a bare assignment, an error: nothing a
            # rule names; the commands inside still count for deny rules
            self.refuse(f"a {kind.replace('_', ' ')}")
            self.nested(node)

    def nested(self, node: tree_sitter.Node) -> None:
        for child in node.children:
            if child.type == "command":
                self.command(child)
            elif child.type in _NESTING:
                self.word(child)
            elif child.child_count:
                self.nested(child)

    def command(self, node: tree_sitter.Node) -> None:
        argv: list[str] = []
        assignments: list[str] = []
        for child in node.children:
            if child.type == "variable_assignment":
                assignments.append(self.assignment(child))
            elif child.type in _REDIRECTS:
                self.redirect(child)
            elif child.type == "command_name":
                argv.append("".join(self.word(part) for part in child.children))
            elif child.is_named:
                argv.append(self.word(child))
            else:
                self.refuse(f"an unexpected '{child.type}'")
        if not argv:
            self.refuse("no program")
        self.commands.append(Command(tuple(argv), tuple(assignments)))

    def assignment(self, node: tree_sitter.Node) -> str:
        parts = []
        for child in node.children:
            if child.type == "variable_name" or child.type in ("=", "+="):
                parts.append(self.text(child))
            else:
                parts.append(self.word(child))
        return "".join(parts)

    def redirect(self, node: tree_sitter.Node) -> None:
        self.join(_REDIRECTS[node.type])
        for child in node.children:
            if child.type == "heredoc_body":
                for part in child.children:
                    if part.type != "heredoc_content":
                        self.word(part)  # an unquoted here-document expands what is in it
            elif child.is_named and child.type not in ("heredoc_start", "heredoc_end",
                                                       "file_descriptor"):
                self.word(child)

    def word(self, node: tree_sitter.Node) -> str:
        """The value the shell gives a word; where it has none before the line runs, the
        word as written (and the reason is noted)."""
        kind, text = node.type, self.text(node)
        if kind in ("word", "number"):
            value = _unquoted(text)
            if value is None:
                self.refuse(f"the bare word {text!r}")
            return text if value is None else value
        if kind == "raw_string":
            return text[1:-1]
        if kind == "string":
            return self.quoted(node)
        if kind == "concatenation":
            return "".join(self.word(child) for child in node.children)
        if kind in ("command_substitution", "process_substitution"):
            self.join(_NESTING[kind])
            for child in node.children:
                if child.is_named:
                    self.statement(child)
            return text
        self.refuse(_WHY.get(kind, f"'{kind}'"))
        self.nested(node)
        return text


    def quoted(self, node: tree_sitter.Node) -> str:
        """A double-quoted string's value. Its text runs from quote to quote: the parser
        leaves newlines between its parts out of them, the shell keeps them."""
        parts = []
        at = node.start_byte + 1
        for child in node.children[1:-1]:
            parts.append(self.plain(at, child.start_byte))
            parts.append(self.plain(child.start_byte, child.end_byte)
                         if child.type == "string_content" else self.word(child))
            at = child.end_byte
        parts.append(self.plain(at, node.end_byte - 1))
        return "".join(parts)

    def plain(self, start: int, end: int) -> str:
        content = self.source[start:end].decode("utf-8", "replace")
        value = _double_quoted(content)
        if value is None:
            self.refuse(f"the quoted text {content!r}")
        return content if value is None else value


def _unquoted(text: str) -> str | None:
    """A bare word's value, or None when the shell might read it as more than text."""
    out = []
    escaped = False
    for index, ch in enumerate(text):
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in _PLAIN and not (ch == "#" and index == 0):  # a leading # starts a comment
            out.append(ch)
        else:
            return None
    return None if escaped else "".join(out)


def _double_quoted(text: str) -> str | None:
    """Text between double quotes as its value: a backslash escapes only $ ` " \\ there; a $ or
    ` the parser left in the text is one whose meaning it missed."""
    out = []
    index = 0
    while index < len(text):
        ch = text[index]
        if ch == "\\" and text[index + 1: index + 2] in ("$", "`", '"', "\\"):
            out.append(text[index + 1])
            index += 2
            continue
        if ch in "$`":
            return None
        out.append(ch)
        index += 1
    return "".join(out)


def _shown(word: str) -> str:
    return word if word and all(ch in _PLAIN for ch in word) else shlex.quote(word)
