"""Associations between records, kept in both directions as HubSpot does.

HubSpot association types are one-way (task->company is 192, company->task is 191), but creating one
creates its inverse, and a labelled association (``Primary``) also carries the unlabelled default. Type
ids are checked against the pair they are used on: 204 is task->contact, so using it to link a task to a
company is a 400 here as on HubSpot, which is the mistake this check exists to catch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from connector.sandbox.hubspot.catalog import ASSOCIATION_TYPES, OBJECT_TYPES, AssociationKind


class AssociationStore:
    def __init__(self) -> None:
        self._links: dict[tuple[str, str], dict[str, dict[str, set[int]]]] = defaultdict(
            lambda: defaultdict(dict)
        )
        self._by_pair: dict[tuple[str, str], list[AssociationKind]] = defaultdict(list)
        self._by_id: dict[tuple[str, int], AssociationKind] = {}
        for kind in ASSOCIATION_TYPES:
            self._by_pair[(kind.from_type, kind.to_type)].append(kind)
            self._by_id[(kind.from_type, kind.type_id)] = kind
        self._inverse: dict[tuple[str, int], int] = {}
        for kind in ASSOCIATION_TYPES:
            for other in self._by_pair[(kind.to_type, kind.from_type)]:
                if other.label == kind.label:
                    self._inverse[(kind.from_type, kind.type_id)] = other.type_id

    # -- types ----------------------------------------------------------------------------------
    def default_kind(self, from_type: str, to_type: str) -> AssociationKind | None:
        for kind in self._by_pair.get((from_type, to_type), ()):
            if kind.default:
                return kind
        return None

    def kind(self, from_type: str, type_id: int) -> AssociationKind | None:
        """The association type ``type_id`` starting at ``from_type``; its ``to_type`` says where it points."""
        return self._by_id.get((from_type, type_id))

    def pair_known(self, from_type: str, to_type: str) -> bool:
        return (from_type, to_type) in self._by_pair

    # -- links ----------------------------------------------------------------------------------
    def link(self, from_type: str, from_id: str, to_type: str, to_id: str, type_ids: set[int]) -> set[int]:
        """Add ``type_ids`` (plus the default type and every inverse); returns the from-side type ids."""
        default = self.default_kind(from_type, to_type)
        wanted = set(type_ids)
        if default is not None:
            wanted.add(default.type_id)
        forward = self._links[(from_type, from_id)][to_type].setdefault(to_id, set())
        forward |= wanted
        backward = self._links[(to_type, to_id)][from_type].setdefault(from_id, set())
        backward |= {self._inverse[(from_type, t)] for t in wanted if (from_type, t) in self._inverse}
        return set(forward)

    def unlink(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        self._links[(from_type, from_id)][to_type].pop(to_id, None)
        self._links[(to_type, to_id)][from_type].pop(from_id, None)

    def drop_object(self, object_type: str, object_id: str) -> None:
        """An archived record loses its associations (HubSpot hides them until a restore)."""
        targets = self._links.pop((object_type, object_id), None)
        for to_type, by_id in (targets or {}).items():
            for to_id in by_id:
                self._links[(to_type, to_id)][object_type].pop(object_id, None)

    def targets(self, from_type: str, from_id: str, to_type: str) -> dict[str, set[int]]:
        found = self._links.get((from_type, from_id))
        if found is None:
            return {}
        return dict(found.get(to_type, {}))

    def all_links(self) -> Iterator[tuple[str, str, str, str, set[int]]]:
        """Every stored (from type, from id, to type, to id, type ids), both directions."""
        for (from_type, from_id), by_type in self._links.items():
            for to_type, by_id in by_type.items():
                for to_id, type_ids in by_id.items():
                    yield from_type, from_id, to_type, to_id, type_ids

    def clear(self) -> None:
        self._links.clear()

    def restore(self, from_type: str, from_id: str, to_type: str, to_id: str, type_ids: set[int]) -> None:
        """Put back one direction exactly as saved (loading a snapshot)."""
        self._links[(from_type, from_id)][to_type][to_id] = set(type_ids)

    # -- shapes ---------------------------------------------------------------------------------
    def spec_with_label(self, from_type: str, type_id: int) -> dict[str, Any]:
        """``AssociationSpecWithLabel``; an unlabelled type has no ``label`` key (the spec has no null)."""
        kind = self._by_id[(from_type, type_id)]
        body: dict[str, Any] = {"category": kind.category, "typeId": type_id}
        if kind.label is not None:
            body["label"] = kind.label
        return body

    def labels(self, from_type: str, type_ids: set[int]) -> list[str]:
        return sorted(label for t in type_ids if (label := self._by_id[(from_type, t)].label) is not None)

    def v3_type_name(self, from_type: str, to_type: str) -> str:
        """The ``type`` of an ``AssociatedId`` in v3 object reads (``task_to_company``)."""
        return f"{OBJECT_TYPES[from_type].singular}_to_{OBJECT_TYPES[to_type].singular}"
