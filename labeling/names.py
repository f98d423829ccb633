"""Names and paths that become files: snapshot, clip, job and model names, and paths read from datasets.

A name becomes a folder or file name on export, and a dataset's path is joined to a folder, so neither may
leave its folder.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.core.errors import InputError
from pipeline.uploads import ascii_name

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=@-]{0,99}")


def check_name(name: str, what: str) -> str:
    """Check a snapshot, clip or job name: letters, digits and ``. _ - + = @``, no ``..``.

    Names become folder and file names on export, so a name must not be able to leave its folder.

    Raises:
        InputError: the name is empty, too long, has other characters, or contains ``..``.
    """
    if not isinstance(name, str) or ".." in name or not _SAFE_NAME.fullmatch(name):
        raise InputError(
            f"{what} name {name!r} is not allowed: use up to 100 letters, digits and . _ - + = @, "
            "starting with a letter or digit, without '..'."
        )
    return name


def check_relative(member: str, what: str = "path") -> Path:
    """A relative path inside a folder: no absolute path, drive or ``..`` component.

    Args:
        member: a path from a dataset file or archive (``/`` or ``\\`` separated).
        what: what the path is, for the message.

    Returns:
        The path as a relative :class:`Path`.

    Raises:
        InputError: the path is empty, absolute, or has a ``..`` component.
    """
    text = str(member).replace("\\", "/")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if not parts or text.startswith("/") or re.match(r"^[A-Za-z]:", text) or ".." in parts:
        raise InputError(f"The {what} {member!r} points outside its folder (absolute or with '..'); refusing it.")
    return Path(*parts)


def clip_name(stem: str, digest: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """A clip's name in the store: its file stem, made unique with its digest when ``taken`` holds it,
    in the characters :func:`check_name` allows (``Übung – G`` -> ``Ubung___G``; the digest when
    nothing is left).

    Args:
        stem: the clip's file stem (or a name built from it).
        digest: the clip's SHA-256 digest (hex).
        taken: names already in the store.
    """
    name = stem if stem not in taken else f"{stem}-{digest[:8]}"
    return check_name(ascii_name(name).lstrip("._-")[:100] or digest[:12], "Clip")
