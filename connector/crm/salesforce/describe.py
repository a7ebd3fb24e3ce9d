"""What the org has, from ``sobjects/{O}/describe``: fetched once per object per adapter instance
(and, with ``salesforce.describe_ttl_seconds``, reused across runs: ``describe_cache.py``).

Describe shows only the fields the API user can read (field-level security), so "the field is in
describe" is exactly "a query may select it". ``setup_fields`` clears the cache after granting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connector.crm.salesforce.client import SalesforceClient
from connector.crm.salesforce.describe_cache import DescribeCache


@dataclass(frozen=True)
class FieldInfo:
    name: str
    type: str
    length: int
    updateable: bool
    id_lookup: bool
    picklist: tuple[str, ...]
    reference_to: tuple[str, ...]
    relationship_name: str | None

    @classmethod
    def from_describe(cls, field: dict[str, Any]) -> FieldInfo:
        return cls(
            name=str(field["name"]),
            type=str(field.get("type", "")),
            length=int(field.get("length") or 0),
            updateable=bool(field.get("updateable", False)),
            id_lookup=bool(field.get("idLookup", False)),
            picklist=tuple(
                str(v["value"]) for v in field.get("picklistValues") or [] if v.get("active", True)
            ),
            reference_to=tuple(field.get("referenceTo") or ()),
            relationship_name=field.get("relationshipName"),
        )


@dataclass(frozen=True)
class ObjectInfo:
    name: str
    fields: dict[str, FieldInfo]
    """Lower-cased field name -> field."""

    def field(self, name: str) -> FieldInfo | None:
        return self.fields.get(name.lower())

    def relationship(self, name: str) -> FieldInfo | None:
        lowered = name.lower()
        return next((f for f in self.fields.values() if (f.relationship_name or "").lower() == lowered), None)


class Schema:
    """Describes, at most one per object per instance; with a ``cache``, reused across runs too."""

    def __init__(self, client: SalesforceClient, cache: DescribeCache | None = None) -> None:
        self._client = client
        self._cache = cache
        self._objects: dict[str, ObjectInfo | None] = {}
        self._checked: dict[str, set[str]] = {}
        """Lower-cased object -> ``where`` conditions that ran on it (this instance, or the cache's)."""

    def object(self, name: str) -> ObjectInfo | None:
        """The object's visible fields, or None when the org has no such object."""
        key = name.lower()
        if key not in self._objects:
            hit, described = (False, None) if self._cache is None else self._cache.get(name)
            if not hit:
                described = self._client.describe(name)
                if self._cache is not None:
                    self._cache.put(name, described)
            self._objects[key] = (
                None
                if described is None
                else ObjectInfo(
                    name=str(described.get("name", name)),
                    fields={
                        str(f["name"]).lower(): FieldInfo.from_describe(f)
                        for f in described.get("fields", [])
                    },
                )
            )
        return self._objects[key]

    def field(self, sobject: str, path: str) -> FieldInfo | None:
        """The field at ``path`` (``Owner.Name`` follows the relationship to each possible target)."""
        info = self.object(sobject)
        if info is None:
            return None
        head, _, rest = path.partition(".")
        if not rest:
            return info.field(head)
        link = info.relationship(head)
        if link is None:
            return None
        for target in link.reference_to:
            found = self.field(target, rest)
            if found is not None:
                return found
        return None

    def where_checked(self, sobject: str, where: str) -> bool:
        """Whether ``where`` already ran on ``sobject`` against the describe in use: the mapping check
        then needs no query for it (once per run without a cache, once per describe with one)."""
        key = sobject.lower()
        if key not in self._checked:
            self._checked[key] = set() if self._cache is None else self._cache.checked(sobject)
        return where in self._checked[key]

    def where_passed(self, sobject: str, where: str) -> None:
        self._checked.setdefault(sobject.lower(), set()).add(where)
        if self._cache is not None:
            self._cache.add_checked(sobject, where)

    def api_user(self, look_up: Callable[[], str | None]) -> str | None:
        """The API user's Id from the cache, else ``look_up()`` (kept for the TTL when found)."""
        known = None if self._cache is None else self._cache.fact("api_user")
        if known is None:
            known = look_up()
            if known is not None and self._cache is not None:
                self._cache.remember("api_user", known)
        return known

    def owner_names(
        self, owner_ids: list[str], look_up: Callable[[list[str]], dict[str, str]]
    ) -> dict[str, str]:
        """``{owner id: name}``: the cache's fresh names, ``look_up`` for the others (then kept)."""
        if self._cache is None:
            return look_up(owner_ids)
        known = {
            k.removeprefix("owner:"): v
            for k, v in self._cache.facts([f"owner:{i}" for i in owner_ids]).items()
        }
        missing = [i for i in owner_ids if i not in known]
        if missing:
            found = look_up(missing)
            self._cache.remember_all({f"owner:{i}": name for i, name in found.items()})
            known.update(found)
        return known

    @property
    def described(self) -> int:
        """Objects described so far (each one call, or none when cached; a missing object too)."""
        return len(self._objects)

    def forget(self) -> None:
        """Drop every cached describe, the cross-run ones too (after fields or permissions change)."""
        self._objects.clear()
        self._checked.clear()
        if self._cache is not None:
            self._cache.clear()
