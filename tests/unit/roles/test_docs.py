"""docs/roles.md lists each role's variables as its argument spec has them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "role_docs.py"


def test_the_role_variables_page_is_written_from_the_argument_specs() -> None:
    check = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )

    assert check.returncode == 0, check.stderr
