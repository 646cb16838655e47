"""The file-type list: which extensions are extracted, and by which extractor.

The default list is data (``filetypes.yaml`` next to this module, 87 extensions). A scan may pass
its own list of extensions; ``resolve_file_types`` validates it against the known extensions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from vigil.yamldata import load_data_yaml

_EXT = re.compile(r"^[a-z0-9][a-z0-9+_-]{0,15}$")

#: Extractor formats whose content has a binary signature (scope decided by detected type).
SIGNATURE_FORMATS = frozenset({
    "pdf", "docx", "xlsx", "pptx", "doc", "xls", "ppt", "odt", "ods", "odp", "msg", "rtf",
    "zip", "tar", "gz", "bz2", "xz", "7z", "image",
})
#: Extractor formats for text content (scope decided by the file's own extension).
TEXT_FORMATS = frozenset({"text", "code", "md", "csv", "tsv", "json", "ndjson", "yaml", "xml",
                          "html", "ipynb", "eml"})


@dataclass(frozen=True)
class FileTypes:
    """An allowed set of extensions and the extractor format of each known extension."""

    extensions: frozenset[str]
    format_of: dict[str, str]  # every known extension -> format, allowed or not

    def extensions_of(self, fmt: str) -> set[str]:
        return {ext for ext, f in self.format_of.items() if f == fmt}

    def allows_format(self, fmt: str) -> bool:
        """True when a signature-detected format has at least one allowed extension."""
        return bool(self.extensions_of(fmt) & self.extensions)

    def allows_extension(self, ext: str) -> bool:
        return (ext or "txt") in self.extensions


def load_file_types(path: str | Path | None = None) -> FileTypes:
    """Load a file-type list (``formats: {format: [ext, ...]}``); default: the packaged list.

    Raises ``ValueError`` naming the problem for a malformed file, an unknown format, an invalid
    extension or an extension listed under two formats.
    """
    if path is None:
        text = resources.files("vigil.extract").joinpath("filetypes.yaml").read_text("utf-8")
        origin = "vigil/extract/filetypes.yaml"
    else:
        text = Path(path).read_text("utf-8")
        origin = str(path)
    doc = load_data_yaml(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("formats"), dict):
        raise ValueError(f"{origin}: expected a mapping with a 'formats' mapping")
    format_of: dict[str, str] = {}
    for fmt, exts in doc["formats"].items():
        if fmt not in SIGNATURE_FORMATS | TEXT_FORMATS:
            raise ValueError(f"{origin}: unknown format {fmt!r}")
        if not isinstance(exts, list) or not exts:
            raise ValueError(f"{origin}: format {fmt!r} needs a non-empty list of extensions")
        for ext in exts:
            ext = _normalise(ext, origin)
            if ext in format_of:
                raise ValueError(f"{origin}: extension {ext!r} listed under both "
                                 f"{format_of[ext]!r} and {fmt!r}")
            format_of[ext] = fmt
    return FileTypes(frozenset(format_of), format_of)


_DEFAULT: FileTypes | None = None


def default_file_types() -> FileTypes:
    """The packaged default list (loaded once)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_file_types()
    return _DEFAULT


def resolve_file_types(file_types) -> FileTypes:
    """``None`` -> default; a ``FileTypes`` as is; an iterable of extensions -> that subset of the
    known extensions (``".PDF"`` and ``"pdf"`` both work). Unknown extensions raise ``ValueError``
    since vigil would not know how to read them."""
    if file_types is None:
        return default_file_types()
    if isinstance(file_types, FileTypes):
        return file_types
    if isinstance(file_types, (str, bytes)):
        raise ValueError("file_types must be a list of extensions, not a single string")
    known = default_file_types().format_of
    chosen = set()
    for ext in file_types:
        ext = _normalise(ext, "file_types")
        if ext not in known:
            raise ValueError(f"file_types: unknown extension {ext!r}; known: {', '.join(sorted(known))}")
        chosen.add(ext)
    return FileTypes(frozenset(chosen), known)


def extension_of(filename: str) -> str:
    """Lower-case extension of a file or member name (``""`` when none; ``.env`` -> ``env``)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1].lower()
    if "." not in base:
        return ""
    return base.rsplit(".", 1)[1]


def _normalise(ext, origin: str) -> str:
    if not isinstance(ext, str):
        raise ValueError(f"{origin}: extension {ext!r} is not a string")
    norm = ext.strip().lower().lstrip(".")
    if not _EXT.match(norm):
        raise ValueError(f"{origin}: invalid extension {ext!r}")
    return norm
