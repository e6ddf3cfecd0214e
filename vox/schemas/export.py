"""JSON Schema files generated from the pydantic models, for producers in other languages.

The files are committed; a test regenerates them and fails when they differ, so the published
contract can never drift from what the worker validates.
"""

from __future__ import annotations

import json
from pathlib import Path

from vox.schemas.events import EVENT_ADAPTER, FAMILIES

JSON_DIR = Path(__file__).parent / "json"


def rendered_schemas() -> dict[str, str]:
    """File name -> JSON text, one file per family plus `event` (any family, by `type`)."""
    documents = {f"{name}.schema.json": model.model_json_schema() for name, model in FAMILIES.items()}
    documents["event.schema.json"] = EVENT_ADAPTER.json_schema()
    rendered = {}
    for file_name, document in documents.items():
        document = {"$schema": "https://json-schema.org/draft/2020-12/schema", **document}
        rendered[file_name] = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return rendered


def write_schemas(directory: Path = JSON_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, text in rendered_schemas().items():
        path = directory / file_name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
