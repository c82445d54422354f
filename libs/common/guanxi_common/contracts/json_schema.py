"""JSON Schema (draft 2020-12) documents generated from contract schemas, with apispec's
marshmallow converter, so a published schema cannot drift from the schema the code dumps.

Nested schemas land in ``$defs``; decimals that travel as strings are described as strings
with a pattern (apispec alone would say ``number``): :func:`decimal_as_string`, which the
gateway's OpenAPI document uses too.
"""
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_COMPONENTS = "#/components/schemas/"


def decimal_as_string(self, field, ret, **kwargs):
    """apispec attribute function: a ``Decimal(as_string=True)`` travels as a string, so
    money stays exact; say so instead of apispec's ``number`` (a client parsing a float
    would lose cents): a string of digits with at most ``places`` decimals and its default
    as a string. An input field states its rule (digits, places, bounds) as its ``pattern``
    and ``maxLength``; an output's bounds, if any, go in ``x-minimum`` etc. Works for OpenAPI 3.0 (nullable stays
    apispec's ``nullable: true``) and 3.1 / JSON Schema (``null`` in the type)."""
    if not isinstance(field, fields.Decimal) or not field.as_string:
        return {}
    bounds = {key: ret.pop(key) for key in ("minimum", "maximum", "exclusiveMinimum",
                                            "exclusiveMaximum") if key in ret}
    places = field.places
    if places is None:
        fraction = r"(\.[0-9]+)?"
    else:
        digits = -places.as_tuple().exponent
        fraction = r"(\.[0-9]{1,%d})?" % digits if digits > 0 else ""
    typed = ret.get("type")
    nullable = isinstance(typed, list) and "null" in typed
    props = {"type": ["string", "null"] if nullable else "string", "format": "decimal",
             "pattern": r"^-?[0-9]+" + fraction + "$"}
    pattern = getattr(field, "pattern", None)
    if pattern:  # an input (contracts.fields.PlainDecimal): its pattern holds the bounds
        props.update(pattern=f"^{pattern}$", minLength=1, maxLength=field.max_length)
    else:
        props.update({f"x-{key}": str(value) for key, value in bounds.items()})
    if ret.get("default") is not None:
        props["default"] = str(ret["default"])
    return props


def json_schema(schema_cls, *, schema_id, title, description=None):
    """The self-contained JSON Schema of ``schema_cls`` (a plain dict)."""
    plugin = MarshmallowPlugin(schema_name_resolver=lambda schema: _name(schema))
    spec = APISpec(title=title, version="1", openapi_version="3.1.0", plugins=[plugin])
    plugin.converter.add_attribute_function(decimal_as_string)
    root = _name(schema_cls)
    spec.components.schema(root, schema=schema_cls)
    components = _local_refs(spec.to_dict()["components"]["schemas"])
    document = {"$schema": DIALECT, "$id": schema_id, "title": title}
    if description:
        document["description"] = description
    document.update(components.pop(root))
    if components:
        document["$defs"] = components
    return document


def _name(schema):
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__
    return name[:-len("Schema")] if name.endswith("Schema") and name != "Schema" else name


def _local_refs(value):
    if isinstance(value, dict):
        return {key: (item.replace(_COMPONENTS, "#/$defs/") if key == "$ref" else _local_refs(item))
                for key, item in value.items()}
    if isinstance(value, list):
        return [_local_refs(item) for item in value]
    return value
