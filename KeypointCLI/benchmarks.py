"""What every module's benchmark needs: the data folder, comma-separated name options, the peak memory figure, and
the measured figures written into a model card."""

from __future__ import annotations

import os
from pathlib import Path

from KeypointEngineLib.errors import InputError

DATA_ENV = "KEYPOINT_DATA"
DATA_HELP = f"(default: ${DATA_ENV}, else ../shared/data beside the checkout)"


def data_folder(data: Path | None) -> Path:
    """The shared data folder: as given, else $KEYPOINT_DATA, else ../shared/data beside the checkout."""
    if data is not None:
        return data
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    return Path(__file__).resolve().parents[2] / "shared" / "data"


def comma_names(text: str, known, what: str) -> list[str]:
    """A comma-separated option as a list of known names, or a clear error."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = set(names) - set(known)
    if unknown:
        raise InputError(f"Unknown {what}(s) {sorted(unknown)}; available: {', '.join(known)}.")
    return names


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux and macOS)."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 ** 2 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def record_in_card(card_path: Path, key: str, figures: dict) -> None:
    """Write `figures` into the model card's metrics under `key`, with the command that measured them and the date."""
    import datetime
    import json
    import shlex
    import sys

    from KeypointCLI.outputs import write_json

    card = json.loads(card_path.read_text())
    card.setdefault("metrics", {})[key] = {**figures, "command": shlex.join(["slicer-keypoints", *sys.argv[1:]]),
                                           "date": datetime.date.today().isoformat()}
    write_json(card_path, card)
