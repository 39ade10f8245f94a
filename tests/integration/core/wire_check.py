"""The wire contract's checks for the integration tests: every server line a client receives goes
through check_line() (no control character but TAB and the LF that ends a line, no DEL, no C1, no
CR, valid UTF-8, the grammar of PROTOCOL.md "Server lines"); check() and check_eq() fail a test."""

import re

VERB_RE = re.compile(r"^[A-Z]+$")
CONTROL_RE = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")  # all but TAB and LF
C1_RE = re.compile("[\u0080-\u009f]")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

stats = {"lines": 0, "bytes": 0}


class TestFailure(AssertionError):
    pass


def check(cond, what):
    if not cond:
        raise TestFailure(what)


def check_eq(got, want, what=""):
    if got != want:
        raise TestFailure(f"{what}\n   got: {got!r}\n  want: {want!r}")


def check_bytes(data, who):
    """No byte the server sends may be a control character other than LF and TAB, or DEL,
    or (in the UTF-8 text) a C1 control. CR is refused too: server lines end in LF alone."""
    m = CONTROL_RE.search(data)
    if m:
        i = m.start()
        raise TestFailure(f"{who}: server sent control byte 0x{data[i]:02x} at {i} in {data[max(0, i - 40):i + 40]!r}")


def check_line(raw, who):
    """raw: one complete server line without its LF."""
    stats["lines"] += 1
    stats["bytes"] += len(raw) + 1
    check_bytes(raw, who)
    try:
        text = raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        raise TestFailure(f"{who}: server sent invalid UTF-8 ({e}): {raw!r}")
    m = C1_RE.search(text)
    if m:
        raise TestFailure(f"{who}: server sent C1 control U+{ord(m.group()):04X}: {raw!r}")
    verb, params, trailing = parse(text)
    check(VERB_RE.match(verb) is not None, f"{who}: bad verb in {text!r}")
    for p in params:
        check(p != "" and not p.startswith(":"), f"{who}: bad param in {text!r}")
    if verb in ("ERROR", "BYE"):
        check(trailing is not None and trailing != "", f"{who}: {verb} without a trailing text: {text!r}")
    return text


def parse(text):
    """PROTOCOL.md "Server lines": the verb, the params, the trailing text (or None)."""
    if " :" in text:
        head, trailing = text.split(" :", 1)
    else:
        head, trailing = text, None
    words = head.split(" ")
    return words[0], words[1:], trailing
