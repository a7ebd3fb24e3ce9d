"""Recursive comparison of a JSON answer's *shape* (keys and JSON types) against a documented example.

Values never matter, only structure: a documented ``"Max": 5000`` and an answer's ``"Max": 12`` agree,
``"Max": "12"`` does not. Differences come back as one line each, naming the JSON path, so a failing
contract test says exactly where the sandbox and the vendor's documentation part.

Rules (each mirrors how the vendors document an example, not a convenience):

* every key of a documented object must be in the answer, with a compatible type, unless its path is
  in ``optional`` — keys the vendor's spec does not require, which the example happens to show;
* an answer key the example lacks is a difference, unless its path is in ``extra`` — the keys the
  vendor's reference documents for that object even though the example leaves them out;
* paths in ``open_paths`` are maps whose keys are data (a record's field names, a property bag): their
  keys are not compared, the types of the keys both sides have are;
* a list's items are each compared with the example's first item (documented lists are uniform);
* ``null`` on either side matches any type: the docs write ``null`` for "not set", and a set value on
  the other side is the same field;
* integers and floats are one JSON type, ``number``.

Paths look like ``records[].attributes.url``: ``[]`` stands for "every item".
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {value!r}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def shape_differences(
    documented: Any,
    actual: Any,
    *,
    extra: Collection[str] = (),
    optional: Collection[str] = (),
    open_paths: Collection[str] = (),
    path: str = "",
) -> list[str]:
    """Every place ``actual`` differs in shape from ``documented`` (empty: same keys and types)."""
    want, got = json_type(documented), json_type(actual)
    if "null" in (want, got):
        return []
    where = path or "(top)"
    if want != got:
        return [f"{where}: documented {want}, sandbox {got}"]
    if want == "array":
        if not documented:
            return []
        found: list[str] = []
        for item in actual:
            for line in shape_differences(
                documented[0], item, extra=extra, optional=optional, open_paths=open_paths, path=f"{path}[]"
            ):
                if line not in found:
                    found.append(line)
        return found
    if want != "object":
        return []
    is_open = path in open_paths
    found = []
    for key, value in documented.items():
        if key not in actual:
            if not is_open and _join(path, key) not in optional:
                found.append(f"{_join(path, key)}: documented key missing from the sandbox's answer")
            continue
        found += shape_differences(
            value, actual[key], extra=extra, optional=optional, open_paths=open_paths, path=_join(path, key)
        )
    if not is_open:
        found += [
            f"{_join(path, key)}: sandbox key the documented example does not have"
            for key in actual
            if key not in documented and _join(path, key) not in extra
        ]
    return found


def assert_same_shape(documented: Any, actual: Any, **kwargs: Any) -> None:
    """Fail with every difference, one line each (``kwargs``: ``extra``, ``optional``, ``open_paths``)."""
    differences = shape_differences(documented, actual, **kwargs)
    assert not differences, "sandbox differs from the documented example:\n" + "\n".join(differences)
