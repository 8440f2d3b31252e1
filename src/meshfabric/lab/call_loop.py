"""A client that calls a URL in a loop, one JSON line per call, and reads its answers back:
the steady load of the demo and of the lab tests.

Run inside a lab host as `python -c LOAD URL OUT STOP`: it calls until the file STOP appears.
A call that fails is a line `{"error": ...}`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["LOAD", "answered_by", "calls"]

LOAD = """
import json, os, sys, urllib.error, urllib.request
url, out, stop = sys.argv[1:4]
with open(out, "w", buffering=1) as log:
    while not os.path.exists(stop):
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                log.write(json.dumps(json.load(answer)) + "\\n")
        except urllib.error.HTTPError as error:
            answer = f"{error.code} {dict(error.headers)} {error.read()[:300]!r}"
            log.write(json.dumps({"error": answer}) + "\\n")
        except Exception as error:
            log.write(json.dumps({"error": repr(error)}) + "\\n")
"""


def calls(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]


def answered_by(path: Path) -> list[str]:
    """The `service` that answered each call, in order ("None" for a failed call)."""
    return [str(call.get("service")) for call in calls(path)]
