"""The shape comparison itself: it must report each kind of difference, at its path, and nothing else."""

from __future__ import annotations

from tests.contract.shape import shape_differences


def test_same_keys_and_types_with_other_values_agree() -> None:
    assert (
        shape_differences(
            {"a": 1, "b": ["x"], "c": {"d": True}}, {"a": 2.5, "b": ["y", "z"], "c": {"d": False}}
        )
        == []
    )


def test_a_missing_documented_key_is_named_with_its_path() -> None:
    assert shape_differences({"a": {"b": 1, "c": 2}}, {"a": {"b": 1}}) == [
        "a.c: documented key missing from the sandbox's answer"
    ]


def test_an_extra_key_is_reported_unless_the_docs_list_it() -> None:
    assert shape_differences({"a": 1}, {"a": 1, "b": 2}) == [
        "b: sandbox key the documented example does not have"
    ]
    assert shape_differences({"a": 1}, {"a": 1, "b": 2}, extra={"b"}) == []


def test_a_type_change_is_reported_inside_list_items() -> None:
    assert shape_differences({"r": [{"id": "1"}]}, {"r": [{"id": "2"}, {"id": 3}]}) == [
        "r[].id: documented string, sandbox number"
    ]


def test_null_matches_any_type_and_open_maps_compare_only_common_keys() -> None:
    assert shape_differences({"a": None, "b": "x"}, {"a": {"deep": 1}, "b": None}) == []
    assert shape_differences({"m": {"k1": 1}}, {"m": {"k2": 2}}, open_paths={"m"}) == []
    assert shape_differences({"m": {"k1": 1}}, {"m": {"k1": "1"}}, open_paths={"m"}) == [
        "m.k1: documented number, sandbox string"
    ]
