"""Arrays of a fitted model stored beside the index (`.npz`), written so a reader never sees
half a file."""

from __future__ import annotations

import io
import os
import zipfile
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
