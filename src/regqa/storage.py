"""Arrays of a fitted model stored beside the index (`.npz`), written so a reader never sees
half a file, with the fingerprint of what it was fitted with (models, search aids, …): a
reader uses it only while that fingerprint still holds, and says why when it does not."""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

# what a damaged, truncated or foreign file raises when read
UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


def write_arrays(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    path = Path(path)
    staging = path.with_suffix(path.suffix + ".tmp")
    staging.write_bytes(buffer.getvalue())
    os.replace(staging, path)
    return path


def read_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of the file, loaded (raises one of UNREADABLE when it cannot be read)."""
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def write_fitted(path: str | Path, fingerprint: dict, arrays: dict[str, np.ndarray]) -> Path:
    return write_arrays(path, {"fingerprint": np.array(json.dumps(fingerprint, sort_keys=True)),
                               **arrays})


def read_fitted(path: str | Path, fingerprint: Callable[[], dict], build: Callable[[dict], dict],
                *, fitted_with: str, without: str, refit: str, log=None) -> dict:
    """`build(arrays)` of a file `write_fitted` wrote, or {} when there is none, when it cannot
    be read or built (`build` raises one of UNREADABLE), or when it was fitted with another
    fingerprint than `fingerprint()` gives now; the last two are logged, saying what the
    caller does `without` it and, when stale, the command that refits it."""
    log = log or (lambda message: print(message, file=sys.stderr))
    path = Path(path)
    if not path.exists():
        return {}
    try:
        data = read_arrays(path)
        if json.loads(str(data["fingerprint"])) != fingerprint():
            log(f"regqa: {path} was fitted with other {fitted_with}; {without} (run `{refit}` "
                "to refit)")
            return {}
        return build(data)
    except UNREADABLE as exc:
        log(f"regqa: ignoring {path} ({exc}); {without}")
        return {}
