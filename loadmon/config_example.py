"""Render config.example.toml from the schema (``python -m loadmon.config_example > config.example.toml``)."""

from __future__ import annotations

import dataclasses
import json
import typing

from loadmon.config import Config, _is_section, _toml_name

HEADER = """# loadmon configuration: every key, with its default and a one-line comment.
# Copy to the user config dir (see `loadmon config check`) or pass --config PATH.
# Environment overrides: LOADMON_DATABASE_URL, and LOADMON_<SECTION>__<KEY> for every key,
# e.g. LOADMON_ALERTS__EMAIL__PASSWORD or LOADMON_STRAVA__CLIENT_SECRET (keep secrets out of files).
"""


def _value(v: object) -> str:
    return json.dumps(v)


def render(cls: type = Config, prefix: str = "") -> str:
    hints = typing.get_type_hints(cls)
    inst = cls()
    scalars, sections = [], []
    for f in dataclasses.fields(cls):
        if f.metadata.get("internal"):
            continue
        if _is_section(hints[f.name]):
            sections.append((f, hints[f.name]))
        else:
            scalars.append(f"{_toml_name(f)} = {_value(getattr(inst, f.name))}    # {f.metadata.get('doc', '')}")
    out = "\n".join(scalars) + ("\n" if scalars else "")
    for f, tp in sections:
        name = f"{prefix}{_toml_name(f)}"
        out += f"\n# {f.metadata.get('doc', '')}\n[{name}]\n" + render(tp, f"{name}.")
    return out


if __name__ == "__main__":
    print(HEADER + render(), end="")
