"""Split a SQL script into statements, as psql and the Supabase CLI do.

Semicolons inside strings, quoted identifiers, comments, dollar-quoted bodies
and `BEGIN ATOMIC … END` bodies do not end a statement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$")
_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9$]*")


@dataclass(frozen=True)
class Statement:
    """One statement without its closing semicolon, as the Supabase CLI records it.

    Like the CLI, text after the last semicolon is a statement of its own even
    when it is only a comment; such a chunk is recorded but has nothing to run.
    """

    sql: str
    line: int  # 1-based line of the statement's first character in the script
    has_code: bool = True


def _skip_quoted(script: str, i: int, quote: str, backslash: bool) -> int:
    """Index just past the closing quote of the literal opening at `i`."""
    n = len(script)
    i += 1
    while i < n:
        c = script[i]
        if backslash and c == "\\":
            i += 2
            continue
        if c == quote:
            if i + 1 < n and script[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return n


def _skip_block_comment(script: str, i: int) -> int:
    depth, n = 0, len(script)
    while i < n:
        if script.startswith("/*", i):
            depth += 1
            i += 2
        elif script.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return n


def split_sql(script: str) -> list[Statement]:
    statements: list[Statement] = []
    n = len(script)
    start = 0
    i = 0
    atomic_depth = 0  # >0 inside BEGIN ATOMIC … END
    previous_word = ""
    while i < n:
        c = script[i]
        if script.startswith("--", i):
            end = script.find("\n", i)
            i = n if end < 0 else end
        elif script.startswith("/*", i):
            i = _skip_block_comment(script, i)
        elif c == "'":
            backslash = i > 0 and script[i - 1] in "eE" and not script[i - 2 : i - 1].isalnum()
            i = _skip_quoted(script, i, "'", backslash)
        elif c == '"':
            i = _skip_quoted(script, i, '"', False)
        elif c == "$" and (match := _DOLLAR_TAG.match(script, i)) and not _is_param(script, i):
            tag = match.group(0)
            end = script.find(tag, match.end())
            i = n if end < 0 else end + len(tag)
        elif c.isalpha() or c == "_":
            word_match = _WORD.match(script, i)
            assert word_match is not None
            word = word_match.group(0).lower()
            if (word == "atomic" and previous_word == "begin") or (atomic_depth and word == "case"):
                atomic_depth += 1
            elif atomic_depth and word == "end":
                atomic_depth -= 1
            previous_word = word
            i = word_match.end()
        elif c == ";" and atomic_depth == 0:
            _append(statements, script, start, i)
            start = i + 1
            i += 1
        else:
            i += 1
    _append(statements, script, start, n)
    return statements


def _is_param(script: str, i: int) -> bool:
    """`$1` is a positional parameter, not a dollar quote."""
    return i + 1 < len(script) and script[i + 1].isdigit()


def _append(statements: list[Statement], script: str, start: int, end: int) -> None:
    chunk = script[start:end]
    if not chunk.strip():
        return
    stripped_start = start + (len(chunk) - len(chunk.lstrip()))
    line = script.count("\n", 0, stripped_start) + 1
    statements.append(Statement(script[stripped_start:end].strip(), line, _has_code(chunk)))


def _has_code(chunk: str) -> bool:
    """True when the chunk holds more than whitespace, comments and a semicolon."""
    i, n = 0, len(chunk)
    while i < n:
        if chunk.startswith("--", i):
            end = chunk.find("\n", i)
            i = n if end < 0 else end
        elif chunk.startswith("/*", i):
            i = _skip_block_comment(chunk, i)
        elif chunk[i].isspace() or chunk[i] == ";":
            i += 1
        else:
            return True
    return False
