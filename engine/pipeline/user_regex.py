"""Regular expressions a template supplies, run by RE2 (linear time, bounded memory) with Python's meaning.

Python's `re` backtracks: `(a+)+$` on 34 a's and a b takes hours while holding the GIL. RE2 cannot, and refuses
what needs backtracking (backreferences, lookaround). So that the patterns of existing templates keep their
meaning, `\\d`, `\\s` and `\\w` are given Python's Unicode classes (RE2's are ASCII), and replacements use
Python's syntax (`\\1`, `\\g<1>`, `\\g<name>`, `\\n`...), expanded here (RE2's own expansion mangles non-ASCII).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import re2

MAX_PATTERN_CHARS = 1_000
MAX_PROGRAM_BYTES = 1 << 20  # RE2's memory budget for one compiled pattern (program and match cache)

# Python's classes for text: \d is any decimal digit, \s what str.isspace() accepts, \w letters, digits and _.
_CLASS_BODIES = {"d": r"\p{Nd}", "s": r"\t-\r\x1c-\x20\x85\p{Z}", "w": r"\p{L}\p{N}_"}
_REPLACEMENT_TOKEN = re.compile(r"\\(?:g<([^>]*)>|([1-9][0-9]?)|(.))", re.DOTALL)
_REPLACEMENT_ESCAPES = {"\\": "\\", "n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a"}


def _python_classes(pattern: str) -> str:
    """The pattern with \\d \\s \\w (and, outside brackets, \\D \\S \\W) spelled as Python's Unicode classes."""
    out: list[str] = []
    i, n = 0, len(pattern)
    class_start = -1  # index just after the '[' (and '^') of the bracket expression we are in, or -1
    while i < n:
        char = pattern[i]
        if char == "\\" and i + 1 < n:
            escaped = pattern[i + 1]
            if escaped == "Q":  # \Q...\E is literal text
                end = pattern.find("\\E", i + 2)
                end = n if end == -1 else end + 2
                out.append(pattern[i:end])
                i = end
                continue
            if escaped in _CLASS_BODIES:
                body = _CLASS_BODIES[escaped]
                out.append(body if class_start >= 0 else f"[{body}]")
            elif escaped.lower() in _CLASS_BODIES and escaped.isupper() and class_start < 0:
                out.append(f"[^{_CLASS_BODIES[escaped.lower()]}]")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if class_start < 0:
            if char == "[":
                class_start = i + 1 + (pattern.startswith("^", i + 1))
                out.append(pattern[i:class_start])
                i = class_start
                continue
        elif pattern.startswith("[:", i):  # a POSIX class such as [:alpha:] inside brackets
            end = pattern.find(":]", i + 2)
            end = n if end == -1 else end + 2
            out.append(pattern[i:end])
            i = end
            continue
        elif char == "]" and i != class_start:
            class_start = -1
        out.append(char)
        i += 1
    return "".join(out)


def compile_user_regex(pattern: str, *, ignore_case: bool = False) -> re2._Regexp:
    """Compile a template's pattern for RE2; ValueError says why it cannot run."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValueError(f"pattern is longer than {MAX_PATTERN_CHARS:,} characters")
    options = re2.Options()
    options.log_errors = False
    options.max_mem = MAX_PROGRAM_BYTES
    options.case_sensitive = not ignore_case
    try:
        return re2.compile(_python_classes(pattern), options=options)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        backreference = "invalid escape sequence: \\" in reason and reason[-1:].isdigit()
        if backreference or reason.endswith("(?P"):  # \1, or (?P=name)
            reason += " (backreferences need backtracking, which could run for hours: not supported)"
        elif "invalid perl operator: (?" in reason and any(op in reason for op in ("(?=", "(?!", "(?<")):
            reason += " (lookahead and lookbehind are not supported: they need backtracking)"
        elif "pattern too large" in reason:
            reason = "pattern too large: it would need more than 1 MiB to run"
        raise ValueError(f"bad regular expression: {reason}") from None


def compile_replacement(
    regex: re2._Regexp, replacement: str, max_chars: int, too_large: Callable[[int], Exception]
) -> Callable[[str], str]:
    """`text -> text` replacing every match of `regex` by `replacement` (Python's syntax, checked now). A result
    longer than `max_chars` raises `too_large(size)` as soon as the replacements reach it, before it is built."""
    pieces: list[str | int] = []
    literal: list[str] = []
    position = 0
    for token in _REPLACEMENT_TOKEN.finditer(replacement):
        literal.append(replacement[position : token.start()])
        position = token.end()
        name, number, escaped = token.groups()
        if escaped is not None:
            if escaped.isascii() and escaped.isalnum() and escaped not in _REPLACEMENT_ESCAPES:
                raise ValueError(f"bad escape \\{escaped} in the replacement")
            literal.append(_REPLACEMENT_ESCAPES.get(escaped, "\\" + escaped))
            continue
        group = int(number) if number is not None else _group(regex, name)
        if group > regex.groups:
            raise ValueError(f"the replacement refers to group {group}; the pattern has {regex.groups}")
        pieces.extend(("".join(literal), group))
        literal = []
    literal.append(replacement[position:])
    pieces.append("".join(literal))

    parts = [p.encode() if isinstance(p, str) else p for p in pieces]
    compiled = regex._regexp
    unanchored = re2._Anchor.UNANCHORED
    max_bytes = 4 * max_chars  # UTF-8: the exact check on characters is made on the result

    # RE2's own sub() builds a Python match object per match (20 times slower than `re` on "\s+" over a
    # description): this loop works on the UTF-8 bytes, the way re2's finditer does, without them.
    def substitute(text: str) -> str:
        data = text.encode()
        end = len(data)
        out: list[bytes] = []
        size = position = last = 0
        while True:
            spans = compiled.Match(unanchored, data, position, end)
            start, stop = spans[0]
            if start < 0:
                break
            appended = len(out)
            out.append(data[last:start])
            for part in parts:
                if isinstance(part, bytes):
                    out.append(part)
                elif spans[part][0] >= 0:
                    out.append(data[spans[part][0] : spans[part][1]])
            size += sum(map(len, out[appended:]))
            if size + end - stop > max_bytes:
                raise too_large(size + end - stop)
            last = stop
            if position == end:
                break
            position = position + re2._re2.CharLenToBytes(data, position, 1) if stop == position else stop
        if not out:
            return text
        out.append(data[last:])
        result = b"".join(out).decode()
        if len(result) > max_chars:
            raise too_large(len(result))
        return result

    return substitute


def _group(regex: re2._Regexp, name: str) -> int:
    if name.isdigit():
        return int(name)
    if name not in regex.groupindex:
        raise ValueError(f"the replacement refers to an unknown group name {name!r}")
    return int(regex.groupindex[name])
