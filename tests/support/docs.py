"""The examples of the user documentation (README.md, COLLECTION.md, docs/*.md), as tests
read them: fenced blocks by language, and the command lines of the shell blocks."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

REPO = Path(__file__).resolve().parents[2]
PAGES = sorted([REPO / "README.md", REPO / "COLLECTION.md", *(REPO / "docs").glob("*.md")])
_FENCE = re.compile(r"^```(\w*)([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_SHELL = ("sh", "bash", "console", "shell")
# Words a shell line ends a command at; what follows is another program or a redirection.
_COMMAND_ENDS = {"|", "||", "&&", "&", ";", ">", ">>", "<", "2>", "2>&1"}


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    language: str
    text: str
    # What follows the language on the opening fence: the file a block shows, where it says.
    label: str = ""

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def blocks(*languages: str) -> Iterator[Block]:
    for page in PAGES:
        text = page.read_text()
        for match in _FENCE.finditer(text):
            if match.group(1) in languages:
                line = text.count("\n", 0, match.start()) + 1
                yield Block(page, line, match.group(1), match.group(3), match.group(2).strip())


def command_lines(program: str) -> Iterator[tuple[str, list[str]]]:
    """(where, arguments) of every documented call of `program` in a shell block, with
    continuation lines joined, the console prompt and comments removed, and the words from
    a pipe or redirection on dropped. Placeholders (`...`) leave a line out."""
    for block in blocks(*_SHELL):
        joined = block.text.replace("\\\n", " ")
        for text in joined.splitlines():
            text = text.removeprefix("$ ").strip()
            if not text.startswith(program + " ") or "..." in text:
                continue
            words = shlex.split(text, comments=True)[1:]
            for index, word in enumerate(words):
                if word in _COMMAND_ENDS or word.startswith((">", "2>")):
                    words = words[:index]
                    break
            yield block.where, words


def parse_command_line(app: typer.Typer, words: list[str]) -> dict[str, Any]:
    """The options of `words` (a subcommand and its arguments) as the program parses them,
    without running it: unknown options, bad values, missing required options and missing
    files fail here as they would at start (a UsageError naming the option)."""
    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    name, *rest = words
    with group.make_context("program", [name]) as context:
        command = group.get_command(context, name)
        assert command is not None, f"no command {name}"
        with command.make_context(name, rest, parent=context) as parsed:
            return dict(parsed.params)
