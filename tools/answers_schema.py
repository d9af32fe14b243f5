"""`make schema` writes the JSON Schema of every answer the function gives to schema/answers.schema.json;
`make schema-check` fails when the file no longer matches the models (CI runs it)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from backup_fn.answers import Answer

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema" / "answers.schema.json"


class _WithoutNulls(GenerateJsonSchema):
    """Answers leave out what they have nothing to say about (`exclude_none`): an optional field is absent, never null."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])


def _drop_null_defaults(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _drop_null_defaults(value) for key, value in node.items() if not (key == "default" and value is None)}
    if isinstance(node, list):
        return [_drop_null_defaults(item) for item in node]
    return node


def answers_schema() -> str:
    schema = _drop_null_defaults(TypeAdapter(Answer).json_schema(mode="serialization", by_alias=True, schema_generator=_WithoutNulls))
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "volume-backup function answer",
        "description": "Every body the function answers with: one backup, several, a backup-completed lifecycle, ignored, or an error.",
        **schema,
    }
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the file differs from the models")
    args = parser.parse_args(argv)
    wanted = answers_schema()
    if args.check:
        current = SCHEMA_FILE.read_text() if SCHEMA_FILE.exists() else ""
        if current != wanted:
            print(f"{SCHEMA_FILE.relative_to(Path.cwd())} does not match backup_fn/answers.py: run `make schema` and commit it.")
            return 1
        print(f"{SCHEMA_FILE.name} matches the answer models.")
        return 0
    SCHEMA_FILE.write_text(wanted)
    print(f"wrote {SCHEMA_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
