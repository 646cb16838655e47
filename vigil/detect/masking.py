"""Masking, normalisation and keyed fingerprints of matched values.

Every rule names a ``mask`` style and a ``normalize`` style. Masks keep only what a reviewer needs
to recognise the value (a token prefix, the last digits of a card); fingerprints are
HMAC-SHA256 of the normalised value so the same value seen twice compares equal without being
stored.
"""

from __future__ import annotations

import hmac
import re
from itertools import islice
from typing import Callable

_DIGIT = re.compile(r"[0-9]")
_ALNUM = re.compile(r"[0-9A-Za-z]")
_ALNUM_ANY = re.compile(r"[^\W_]")
"""Letters and digits in any script (``str.isalnum``), as the masks have always kept them."""
_URL_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.:-]*://[^:/?#@\s]*(?:@[^:/?#@\s]*)?:)([^@\s]+)(@.*)$", re.S)
_KV_PASSWORD = re.compile(r"(?i)((?:password|pwd)\s*=\s*)([^;]+)")
_ELLIPSIS = "…"


def _keep_last(value: str, pattern: re.Pattern[str], keep: int) -> str:
    """Every character of ``pattern`` (a one-character class) replaced by ``*`` except the last
    ``keep`` of them. The last ones are the first ones of the reversed value: a PEM body has a
    thousand characters to hide and three to keep."""
    if not keep:
        return pattern.sub("*", value)
    last = list(islice(pattern.finditer(value[::-1]), keep + 1))
    if len(last) <= keep:
        return value
    cut = len(value) - 1 - last[keep - 1].start()
    return pattern.sub("*", value[:cut]) + value[cut:]


def _keep_last_digits(value: str, keep: int = 4) -> str:
    return _keep_last(value, _DIGIT, keep)


def _keep_last_alnum(value: str, keep: int = 3) -> str:
    return _keep_last(value, _ALNUM_ANY, keep)


def _token(value: str, prefix: int) -> str:
    """``sk-ant-…Q9xA``: the rule's literal prefix, an ellipsis and the last four characters."""
    if len(value) <= prefix + 8:
        return value[:prefix] + _ELLIPSIS
    return value[:prefix] + _ELLIPSIS + value[-4:]


def _email(value: str) -> str:
    local, _, domain = value.partition("@")
    return (local[:1] + "***@" + domain) if domain else "***"


def _ip(value: str) -> str:
    if ":" in value:
        groups = value.split(":")
        return ":".join(groups[:2]) + ":****"
    parts = value.split(".")
    return ".".join(parts[:2] + ["*"] * (len(parts) - 2))


def _url_password(value: str) -> str:
    m = _URL_PASSWORD.match(value)
    if m:
        return m.group(1) + "****" + m.group(3)
    return _KV_PASSWORD.sub(lambda k: k.group(1) + "****", value)


def _pem(value: str) -> str:
    first_line = value.strip().splitlines()[0] if value.strip() else ""
    head = first_line[:60]
    return head + _ELLIPSIS


_AUTH_SCHEME = re.compile(r"(?i)(.*?\b(?:basic|bearer))\s+")


def _header(value: str) -> str:
    scheme, _, _ = value.partition(" ")
    m = _AUTH_SCHEME.match(value)
    return (m.group(1) + " ****") if m else scheme + " ****"


MASKS: dict[str, Callable[[str, int], str]] = {
    "last4": lambda v, p: _keep_last_digits(v, 4),
    "last3": lambda v, p: _keep_last_alnum(v, 3),
    "digits": lambda v, p: _DIGIT.sub("*", v),
    "all": lambda v, p: "*" * min(len(v), 8) if v else "",
    "token": _token,
    "email": lambda v, p: _email(v),
    "ip": lambda v, p: _ip(v),
    "url_password": lambda v, p: _url_password(v),
    "pem": lambda v, p: _pem(v),
    "header": lambda v, p: _header(v),
}


def mask(value: str, style: str, prefix: int = 0) -> str:
    """Masked form of ``value`` in the named style (see ``MASKS``)."""
    return MASKS[style](value, prefix)


_NON_DIGIT = re.compile(r"[^0-9]")
_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")

NORMALIZERS: dict[str, Callable[[str], str]] = {
    "none": lambda v: v,
    "digits": lambda v: _NON_DIGIT.sub("", v),
    "alnum_upper": lambda v: _NON_ALNUM.sub("", v).upper(),
    "lower": lambda v: v.strip().lower(),
    "phone": lambda v: ("+" if v.strip().startswith("+") else "") + _NON_DIGIT.sub("", v),
    "whitespace": lambda v: "".join(v.split()),
    "unescape": lambda v: v.replace("\\/", "/"),  # base64 keys with JSON's escaped slashes
}


def normalize(value: str, style: str) -> str:
    """Canonical form of ``value`` for fingerprints and exact-data matching."""
    return NORMALIZERS[style](value)


def fingerprint(key: bytes, normalized: str) -> str:
    """HMAC-SHA256 (hex) of a normalised value under the installation key."""
    return hmac.digest(key, normalized.encode("utf-8", "surrogatepass"), "sha256").hex()


def fingerprinter(key: bytes) -> Callable[[str], str]:
    """``fingerprint`` with ``key`` bound: the keyed HMAC state is made once and copied per
    value (a third cheaper than keying HMAC for every finding)."""
    keyed = hmac.new(key, digestmod="sha256")

    def fingerprint_of(normalized: str) -> str:
        h = keyed.copy()
        h.update(normalized.encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    return fingerprint_of
