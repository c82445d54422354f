"""Whether a consumer's schema of an event payload accepts everything its producer's schema
allows: the structural half of a contract test (the other half loads real payloads).

``problems(producer, consumer)`` lists, by dotted field path, each way the consumer could
refuse a payload the producer may emit:

- the consumer requires a field the producer does not always emit (not ``required`` there),
  or refuses ``null`` where the producer may send it;
- the consumer narrows a field: a shorter maximum or longer minimum length, fewer choices,
  a pattern of its own, a tighter range, or a different kind of value (text for a number).

A consumer may read fewer fields than the producer emits (``unknown = EXCLUDE``) and may
be wider than the producer. The producer's schema must therefore declare what it
guarantees (lengths, choices, patterns): a bound it does not declare counts as unbounded.
"""
from marshmallow import EXCLUDE, INCLUDE, fields, validate

#: consumer field kind -> the producer field kinds whose values it loads
_KINDS = ((fields.Boolean, (fields.Boolean,)),
          (fields.Integer, (fields.Integer,)),
          (fields.Decimal, (fields.Decimal, fields.Integer)),
          (fields.Float, (fields.Float, fields.Integer, fields.Decimal)),
          (fields.DateTime, (fields.DateTime,)),
          (fields.Date, (fields.Date,)),
          (fields.Nested, (fields.Nested,)),
          (fields.List, (fields.List,)),
          (fields.Dict, (fields.Dict,)),
          (fields.String, (fields.String,)))


def problems(producer, consumer, path=""):
    """Why ``consumer`` (a schema class or instance) may refuse what ``producer`` emits;
    empty when it accepts every payload the producer's schema allows."""
    producer, consumer = _instance(producer), _instance(consumer)
    found = []
    emitted = {field.data_key or name: field for name, field in producer.fields.items()}
    if consumer.unknown not in (EXCLUDE, INCLUDE):
        found += [f"{path}{key}: emitted, but the consumer refuses unknown fields"
                  for key in emitted if key not in _keys(consumer)]
    for name, wanted in consumer.fields.items():
        key = wanted.data_key or name
        found += _field_problems(emitted.get(key), wanted, f"{path}{key}")
    return found


def _field_problems(given, wanted, path, item=False):
    """``item``: a list's item, which is there whenever the list is."""
    if given is None:
        return [f"{path}: required by the consumer, never emitted"] if wanted.required else []
    found = []
    if wanted.required and not given.required and not item:
        found.append(f"{path}: required by the consumer, not always emitted")
    if given.allow_none and not wanted.allow_none:
        found.append(f"{path}: may be null, the consumer refuses null")
    found += _narrowing(given, wanted, path)
    if isinstance(wanted, fields.Nested) and isinstance(given, fields.Nested):
        found += problems(given.schema, wanted.schema, path + ".")
    elif isinstance(wanted, fields.List) and isinstance(given, fields.List):
        found += _field_problems(given.inner, wanted.inner, path + ".[]", item=True)
    return found


def _narrowing(given, wanted, path):
    for kind, accepted in _KINDS:
        if isinstance(wanted, kind):
            if not isinstance(given, accepted):
                return [f"{path}: the consumer reads a {kind.__name__}, the producer emits a "
                        f"{type(given).__name__}"]
            break
    have, want = _bounds(given), _bounds(wanted)
    found = []
    if want["choices"] is not None and not (
            have["choices"] is not None and have["choices"] <= want["choices"]):
        found.append(f"{path}: the consumer allows only {sorted(want['choices'], key=str)}")
    lengths = [len(c) for c in have["choices"] or () if isinstance(c, str)]
    longest = max(lengths) if lengths and len(lengths) == len(have["choices"]) else None
    shortest = min(lengths) if longest is not None else None
    if want["max_length"] is not None:
        bound = have["max_length"] if have["max_length"] is not None else longest
        if bound is None or bound > want["max_length"]:
            found.append(f"{path}: the consumer allows at most {want['max_length']} characters, "
                         f"the producer {bound if bound is not None else 'any number'}")
    if want["min_length"]:
        bound = have["min_length"] if have["min_length"] is not None else shortest
        if not bound or bound < want["min_length"]:
            found.append(f"{path}: the consumer needs at least {want['min_length']} characters")
    if want["patterns"] - have["patterns"]:
        added = sorted(want["patterns"] - have["patterns"])
        found.append(f"{path}: the consumer adds the pattern(s) {added}")
    for side, tighter in (("min", lambda w, h: h is None or h < w),
                          ("max", lambda w, h: h is None or h > w)):
        if want[side] is not None and tighter(want[side], have[side]):
            found.append(f"{path}: the consumer's {side}imum {want[side]} is tighter than the "
                         f"producer's {have[side]}")
    return found


def _bounds(field):
    bounds = {"choices": None, "max_length": None, "min_length": None, "patterns": set(),
              "min": None, "max": None}
    for rule in field.validators:
        if isinstance(rule, validate.OneOf):
            bounds["choices"] = set(rule.choices)
        elif isinstance(rule, validate.Equal):
            bounds["choices"] = {rule.comparable}
        elif isinstance(rule, validate.Length):
            low = rule.equal if rule.equal is not None else rule.min
            high = rule.equal if rule.equal is not None else rule.max
            bounds["min_length"] = low if low is not None else bounds["min_length"]
            bounds["max_length"] = high if high is not None else bounds["max_length"]
        elif isinstance(rule, validate.Regexp):
            bounds["patterns"].add(rule.regex.pattern)
        elif isinstance(rule, validate.Range):
            bounds["min"] = rule.min if rule.min is not None else bounds["min"]
            bounds["max"] = rule.max if rule.max is not None else bounds["max"]
    return bounds


def _keys(schema):
    return {field.data_key or name for name, field in schema.fields.items()}


def _instance(schema):
    return schema() if isinstance(schema, type) else schema
