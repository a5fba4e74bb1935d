"""Where the normalizer's data files live and how they are read.

The normalizer's behaviour (word lists, rules, the gazetteer) is data under `config/`, so a
deployment can change it without touching code. This module is the only place that reads those
files; everything else in `normalizer/` takes already-loaded objects and stays pure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

import config

CONFIG_DIR = Path(config.__file__).resolve().parent
NORMALIZER_DATA_DIR = CONFIG_DIR / "normalizer"
DEFAULT_GAZETTEER_FILE = CONFIG_DIR / "gazetteer" / "rembang.yaml"
DEFAULT_AGENCY_FILE = CONFIG_DIR / "agencies.yaml"


class DataFileError(ValueError):
    """A normalizer data file is missing a part or has the wrong shape; the message says where."""


def read_yaml(path: Path | str) -> dict[str, Any]:
    """Read one YAML mapping; raise `DataFileError` naming the file when it is not a mapping."""
    path = Path(path)
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise DataFileError(f"{path}: expected a mapping at the top level")
    return data


def data_file(name: str) -> Path:
    """Path of one of the normalizer's own data files (`config/normalizer/<name>`)."""
    return NORMALIZER_DATA_DIR / name


def require(data: dict[str, Any], key: str, kind: type, source: str) -> Any:
    """Fetch `data[key]` and check its type, so a broken data file fails loudly at load time."""
    if key not in data:
        raise DataFileError(f"{source}: missing '{key}'")
    value = data[key]
    if not isinstance(value, kind):
        raise DataFileError(f"{source}: '{key}' must be a {kind.__name__}")
    return value


def strings(values: Any, key: str, source: str) -> list[str]:
    """A list of strings from a data file; YAML turns bare `no`/`on` into booleans, so say so."""
    if not isinstance(values, list):
        raise DataFileError(f"{source}: '{key}' must be a list")
    for value in values:
        if not isinstance(value, str):
            raise DataFileError(
                f"{source}: '{key}' holds {value!r}, not a string (quote words like \"no\")"
            )
    return values
