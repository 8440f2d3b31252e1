#!/usr/bin/env python3
"""Write the variables of each role, from its meta/argument_specs.yml, into docs/roles.md.

Between the markers below, docs/roles.md holds one table per public role (the roles with a
defaults/ directory); `python scripts/role_docs.py --check` fails when the page is stale.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "roles.md"
BEGIN = "<!-- role variables: written by scripts/role_docs.py from meta/argument_specs.yml -->"
END = "<!-- end of role variables -->"


def _text(value: Any) -> str:
    """A description (a string or a list of paragraphs) on one table line."""
    parts = value if isinstance(value, list) else [value]
    text = " ".join(" ".join(str(part).split()) for part in parts)
    text = re.sub(r"\b[CI]\(([^)]*)\)", r"`\1`", text)  # Ansible's C(code) and I(option)
    return text.replace("|", "\\|")


def _default(option: dict[str, Any]) -> str:
    if "default" not in option:
        return "required" if option.get("required") else ""
    default = option["default"]
    if default == "":
        return '`""`'
    shown = default if isinstance(default, str) else json.dumps(default)
    return f"`{' '.join(shown.split())}`".replace("|", "\\|")


def role_section(role: Path) -> str:
    spec = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    main = spec["main"]
    lines = [f"### `meshfabric.mesh.{role.name}`", "", _text(main["short_description"]) + ".", ""]
    lines += ["| variable | type | default | what it is |", "| --- | --- | --- | --- |"]
    for name, option in main["options"].items():
        kind = option.get("type", "")
        if option.get("choices"):
            kind += ": " + ", ".join(f"`{choice}`" for choice in option["choices"])
        lines.append(f"| `{name}` | {kind} | {_default(option)} | {_text(option['description'])} |")
    return "\n".join(lines)


def generated() -> str:
    roles = sorted(path for path in (REPO / "roles").iterdir() if (path / "defaults").is_dir())
    return "\n\n".join(role_section(role) for role in roles)


def page_with(body: str, page: str) -> str:
    before, rest = page.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    return f"{before}{BEGIN}\n{body}\n{END}{after}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/roles.md is stale")
    args = parser.parse_args()
    page = PAGE.read_text()
    wanted = page_with(generated(), page)
    if args.check:
        if wanted != page:
            print(f"{PAGE} is stale: run python scripts/role_docs.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
