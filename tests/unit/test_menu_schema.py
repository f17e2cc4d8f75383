"""The JSON Schema editors use for completion agrees with the loader on the shipped menu."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from ruamel.yaml import YAML

ROOT = Path(__file__).parents[2]
SCHEMA = json.loads((ROOT / "dialplans" / "menu.schema.json").read_text())


def document(path: Path) -> Any:
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    data["holidays"] = {str(k): v for k, v in data.get("holidays", {}).items()}
    return data


def test_the_schema_is_a_valid_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_the_shipped_menu_follows_the_schema() -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(document(ROOT / "dialplans" / "19001122.yaml"))


def test_the_schema_catches_a_wrong_type_and_a_missing_field() -> None:
    menu = document(ROOT / "dialplans" / "19001122.yaml")
    menu["nodes"]["main"]["retries"] = "two"
    del menu["nodes"]["welcome"]["next"]
    errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(menu))
    assert errors
