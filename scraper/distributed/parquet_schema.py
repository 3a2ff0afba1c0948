"""The Arrow schema of a page record, derived from the pydantic model (``--format parquet``).

Every partition is written with this one explicit schema, so partitions with no
reviews, no authors or no rows at all still have the same columns and types, and
``pyarrow.dataset.dataset("out/parts")`` reads them as one table.  The schema
follows :class:`scraper.models.PageRecord` (its JSON Schema in serialization mode):
objects become structs, arrays lists, ``X | None`` a nullable ``X``.  Reading a row
back (``Table.to_pylist()``) gives the same dict as the JSON Lines record.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["record_schema"]


@lru_cache(maxsize=1)
def record_schema() -> Any:
    """The ``pyarrow.Schema`` of a :class:`~scraper.models.PageRecord` row."""
    import pyarrow as pa

    from scraper.models import PageRecord

    schema = PageRecord.model_json_schema(mode="serialization")
    defs = schema.get("$defs", {})
    fields = [pa.field(name, _arrow_type(node, defs), nullable=True) for name, node in schema["properties"].items()]
    return pa.schema(fields, metadata={b"scraper.schema": b"PageRecord"})


def _arrow_type(node: dict[str, Any], defs: dict[str, Any]) -> Any:
    import pyarrow as pa

    if "$ref" in node:
        return _arrow_type(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    for union in ("anyOf", "oneOf"):
        if union in node:
            options = [option for option in node[union] if option.get("type") != "null"]
            if len(options) == 1:
                return _arrow_type(options[0], defs)
            return pa.string()  # a real union: not in the model today; kept as text rather than guessed
    kind = node.get("type")
    if kind == "object" and "properties" in node:
        return pa.struct([pa.field(name, _arrow_type(sub, defs), nullable=True) for name, sub in node["properties"].items()])
    if kind == "object":
        return pa.map_(pa.string(), pa.string())
    if kind == "array":
        return pa.list_(_arrow_type(node.get("items", {}), defs))
    scalars = {"string": pa.string(), "integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_()}
    return scalars.get(kind, pa.string()) if isinstance(kind, str) else pa.string()
