"""Key-value fields: which key a context word belongs to.

Forms, e-mails, logs and JSON write one field per ``key: value`` (``key = value``, ``key - value``,
``"key": "value"``). A context word that is part of another field's key speaks for that field's
value, not for a number on the next line: in ``Emergency contact: Ana Lima`` over
``imei: 357123456789012`` the word *contact* is no phone context for the IMEI. And a word after
a value speaks for it only on the value's own line (``0612345678 (mobile)``): the line below
starts something else.
"""

from __future__ import annotations

import re

_KEY_TAIL = re.compile(r"""[\w .#/()'"-]{0,32}?["']?[ \t]{0,3}(?:=>|->|:=|[:=]|[ \t][-\u2013][ \t])[ \t]{0,3}["']?""")
_KEY_SEPARATOR = re.compile(r"""["']?[ \t]{0,3}(?:=>|:=|[:=])[ \t]{0,3}["']?""")
_TYPE_ANNOTATION = re.compile(r"""[A-Za-z_][\w.\[\]<>|?]{0,40}[ \t]{0,3}=[ \t]{0,3}["'`]?""")
"""What lies between a typed declaration's name and its value (``phone: string = '…'``)."""


def labels_another_field(text: str, end: int, vs: int, ve: int) -> bool:
    """Whether the context word ending at ``end`` names another field than the value
    ``text[vs:ve]``: it is (part of) the key of a ``key: value`` / ``key = value`` /
    ``key - value`` / ``"key": "value"`` pair whose value is on its line and is not this one --
    the line above (``Emergency contact: Ana Lima`` over ``imei: 3571…``), the line below, or an
    earlier key of the same line (``"sms_to": "…", "amount": "…"``). A key alone on its line
    (``Phone:`` over a list) and words in prose still count."""
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    m = _KEY_TAIL.match(text, end, line_end)
    if m is None:
        return False
    value_start = m.end()
    if value_start >= line_end or text[value_start] in " \t\r":
        return False  # a key with nothing after it: a heading
    if value_start == vs:
        return False  # this value's own key
    if end > ve or vs > line_end:
        return True  # a field below the value, or the value lies on a later line
    if vs < value_start or _TYPE_ANNOTATION.fullmatch(text, value_start, vs):
        return False
    return _KEY_SEPARATOR.search(text, value_start, vs) is not None


def speaks_for(text: str, end: int, start: int, vs: int, ve: int) -> bool:
    """Whether the context word ``text[start:end]`` may count for the value ``text[vs:ve]``: not
    when it names another field (``labels_another_field``), nor when it comes after the value on
    a later line -- unless it is the value of a sibling field there (``"type": "mobile"`` under
    ``"number": "…"``)."""
    if end > ve and text.find("\n", ve, start) >= 0:
        line_start = text.rfind("\n", 0, start) + 1
        return _SIBLING_VALUE.search(text, line_start, start) is not None
    return not labels_another_field(text, end, vs, ve)


_SIBLING_VALUE = re.compile(r"""[:=][ \t]{0,3}["']?\Z""")
