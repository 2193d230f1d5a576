"""Output files that are never half-written: paths checked before the work, data written to a temporary file in
the same folder (full extension kept, so writers that choose the format by name still work) and renamed into place,
removed on failure. JSON is strict (no Infinity or NaN: non-finite numbers become null)."""

from __future__ import annotations

import json
import math
import os
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from KeypointEngineLib.errors import InputError

COMPOUND_SUFFIXES = (".seg.nrrd", ".mrk.json", ".nii.gz", ".seq.nrrd")


def full_suffix(path: Path) -> str:
    name = path.name.lower()
    return next((suffix for suffix in COMPOUND_SUFFIXES if name.endswith(suffix)), path.suffix.lower())


def check_output(path: Path | None, suffixes: Sequence[str] | None = None, what: str = "output") -> Path | None:
    """`path` when it can be written: an allowed extension, not a folder, in a folder that exists and is writable.
    Otherwise a ValueError that says what to do. None passes through (the output was not asked for)."""
    if path is None:
        return None
    path = Path(path)
    if suffixes is not None and full_suffix(path) not in suffixes:
        raise InputError(f"Write the {what} as {' or '.join(suffixes)}, not {path.name!r}.")
    if path.is_dir():
        raise InputError(f"The {what} {path} is a folder; give a file name.")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"The folder of the {what} {path} does not exist; create it first.")
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"The {what} {path} exists and is read-only; choose another name or folder.")
    probe = folder / f".{path.name}.{secrets.token_hex(4)}.probe"
    try:  # permissions alone do not tell (root, read-only mounts, /proc): try, as the real write will
        probe.touch(exist_ok=False)
        probe.unlink()
    except OSError as error:
        raise InputError(f"The {what} {path} cannot be written in {folder} ({error.strerror}); choose another "
                         "folder.") from None
    return path


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """A temporary path `.<stem>.<random><ext>` beside `path` to write to; renamed onto `path` when the block ends
    without an error, removed otherwise. Two runs writing one path leave one whole file, never a mix."""
    path = Path(path)
    suffix = full_suffix(path)
    stem = path.name[: len(path.name) - len(suffix)] if suffix else path.name
    temporary = path.with_name(f".{stem}.{secrets.token_hex(4)}{suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def strict_json(data) -> str:
    """JSON text of `data` with non-finite floats as null (json.dumps would write Infinity and NaN)."""
    return json.dumps(_finite(data), indent=2, allow_nan=False) + "\n"


def write_json(path: Path, data) -> Path:
    with atomic_output(path) as temporary:
        temporary.write_text(strict_json(data))
    return Path(path)


def write_text(path: Path, text: str) -> Path:
    with atomic_output(path) as temporary:
        temporary.write_text(text)
    return Path(path)


def _finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _finite(value.item())
    return value
