"""The no-match floors, stored beside the index they were fitted on (`index/calibration.json`).

`regqa eval --calibrate` fits them by cross-validation and writes them with the fingerprint
of the models and chunking they were measured with. They are used only while that
fingerprint matches the loaded index; otherwise the defaults apply and a warning says why.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from .decision import Evidence

FILE = "calibration.json"
FINGERPRINT = ("embedding_model", "embedding_sha256", "multilingual_model", "chunking")


def fingerprint(manifest) -> dict:
    return {key: getattr(manifest, key) for key in FINGERPRINT}


def read_calibration(index_dir: str | Path, manifest, log=None) -> Evidence:
    log = log or (lambda message: print(message, file=sys.stderr))
    path = Path(index_dir) / FILE
    if not path.exists():
        return Evidence()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        evidence = Evidence(**data["evidence"])
    except (ValueError, KeyError, TypeError) as exc:
        log(f"regqa: ignoring {path} ({exc}); using default no-match floors")
        return Evidence()
    if data.get("fingerprint") != fingerprint(manifest):
        log(f"regqa: {path} was fitted with other models or chunking; using default no-match "
            "floors (run `regqa eval --calibrate` to refit)")
        return Evidence()
    return evidence


def write_calibration(index_dir: str | Path, manifest, evidence: Evidence, note: str) -> Path:
    path = Path(index_dir) / FILE
    path.write_text(json.dumps({"evidence": asdict(evidence), "fingerprint": fingerprint(manifest),
                                "note": note}, indent=2) + "\n", encoding="utf-8")
    return path
