"""``tiersync setup-fields`` for HubSpot: a ``tiersync`` property group and the write-back properties on
companies, and the task key property (unique values) on tasks.

Each step looks first (one properties list and one groups list per object type) and acts only on what
is missing, so a second run writes nothing and ``dry_run`` only looks. A create that answers 409 (a
retried call whose first try landed) reads as "exists". An existing property of another type is
reported as a problem line and left alone — tiersync never changes a property's type, and HubSpot cannot
add unique values to an existing property. Enumeration options are merged: ours get our labels (trait
labels come from the config), options someone else added are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from hubspot.crm.properties import OptionInput, PropertyCreate, PropertyGroupCreate, PropertyUpdate

from connector.classify.decision_settings import DEFAULT_DECISION_LABELS
from connector.classify.growth_settings import DEFAULT_GROWTH_LABELS
from connector.classify.trait_settings import DEFAULT_TRAIT_LABELS
from connector.crm.base import RequestRejectedError
from connector.crm.hubspot.client import HubSpotClient
from connector.crm.hubspot.schema import MULTI_VALUE_FIELD_TYPE, PropertyInfo, Schema
from connector.crm.mapping import Mapping
from connector.model import Decision, GrowthPoint, Tier, Trait

GROUP = "tiersync"
GROUP_LABEL = "tiersync"


@dataclass(frozen=True)
class PropertySpec:
    object_type: str
    name: str
    mapping_key: str
    """Where the mapping names it: ``[writeback] tier``, ``[tasks] key``."""
    label: str
    type: str
    field_type: str
    options: tuple[tuple[str, str], ...] = ()
    """(value, label) for enumerations."""
    unique: bool = False
    description: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.object_type}.{self.name}"

    @property
    def shape(self) -> str:
        return f"{self.type}/{self.field_type}"


def writeback_specs(mapping: Mapping, trait_labels: dict[str, str]) -> list[PropertySpec]:
    """The eleven write-back and override properties on the write-back object."""
    tiers = tuple((t.value, t.value.capitalize()) for t in Tier)
    traits = tuple(
        (t.value, trait_labels.get(t.value) or DEFAULT_TRAIT_LABELS.get(t, t.value)) for t in Trait
    )
    select = ("enumeration", "select")
    shapes: dict[str, tuple[str, str, str, tuple[tuple[str, str], ...], str]] = {
        "tier": ("Client tier", *select, tiers, "Set by tiersync."),
        "traits": ("Client traits", "enumeration", MULTI_VALUE_FIELD_TYPE, traits, "Set by tiersync."),
        "score": ("Tier score", "number", "number", (), "Set by tiersync."),
        "reasons": ("Tier reasons", "string", "textarea", (), "Set by tiersync."),
        "tier_changed_at": ("Tier changed at", "datetime", "date", (), "Set by tiersync."),
        "previous_tier": ("Previous tier", *select, tiers, "Set by tiersync."),
        "last_synced_at": ("Tier synced at", "datetime", "date", (), "Set by tiersync."),
        "override_tier": (
            "Tier override",
            *select,
            tiers,
            "Pins the tier until the override expires; tiersync never writes it.",
        ),
        "override_expires": ("Tier override expires", "date", "date", (), "Last day the override holds."),
        "growth_points": (
            "Growth points",
            "enumeration",
            MULTI_VALUE_FIELD_TYPE,
            tuple((p.value, trait_labels.get(p.value) or DEFAULT_GROWTH_LABELS[p]) for p in GrowthPoint),
            "Set by tiersync.",
        ),
        "decision": (
            "Next step",
            *select,
            tuple((d.value, trait_labels.get(d.value) or DEFAULT_DECISION_LABELS[d]) for d in Decision),
            "Set by tiersync.",
        ),
    }
    writeback = mapping.writeback
    return [
        PropertySpec(
            writeback.object,
            writeback.field(key),
            f"[writeback] {key}",
            label,
            kind,
            field_type,
            options,
            description=description,
        )
        for key, (label, kind, field_type, options, description) in shapes.items()
    ]


def task_key_spec(mapping: Mapping) -> PropertySpec:
    """The task key on the task object: unique values are what make a task create idempotent."""
    return PropertySpec(
        mapping.tasks.object,
        mapping.tasks.key,
        "[tasks] key",
        "Tiersync key",
        "string",
        "text",
        unique=True,
        description="Set by tiersync: one task per client, action and period.",
    )


def property_specs(mapping: Mapping, trait_labels: dict[str, str]) -> list[PropertySpec]:
    return [*writeback_specs(mapping, trait_labels), task_key_spec(mapping)]


def mismatch(have: PropertyInfo, spec: PropertySpec) -> str | None:
    """Why an existing property cannot hold what tiersync writes there, or None when it can."""
    if have.type != spec.type:
        return f"is {have.shape}, tiersync needs {spec.shape}"
    multi = spec.field_type == MULTI_VALUE_FIELD_TYPE
    if spec.type == "enumeration" and (have.field_type == MULTI_VALUE_FIELD_TYPE) != multi:
        return f"is {have.shape}, tiersync needs {'many values' if multi else 'one value'} ({spec.shape})"
    if spec.unique and not have.unique:
        return (
            "does not require unique values, which is what keeps a task from being created twice "
            "(HubSpot cannot add that to an existing property: map it to a new name)"
        )
    return None


def merged_options(have: PropertyInfo, spec: PropertySpec) -> list[tuple[str, str]] | None:
    """Our options with our labels, then the others' extra ones; None when nothing needs changing."""
    if all(have.options.get(value) == label for value, label in spec.options):
        return None
    ours = dict(spec.options)
    return [*spec.options, *((v, lbl) for v, lbl in have.options.items() if v not in ours)]


def _options(pairs: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> list[OptionInput]:
    return [
        OptionInput(label=label, value=value, display_order=order, hidden=False)
        for order, (value, label) in enumerate(pairs)
    ]


class PropertySetup:
    def __init__(self, client: HubSpotClient, schema: Schema, mapping: Mapping, mapping_file: str) -> None:
        self._client = client
        self._schema = schema
        self._mapping = mapping
        self._mapping_file = mapping_file

    def run(self, trait_labels: dict[str, str], dry_run: bool) -> list[str]:
        specs = property_specs(self._mapping, trait_labels)
        lines: list[str] = []
        known: set[str] = set()
        for object_type in dict.fromkeys(s.object_type for s in specs):
            if self._schema.object(object_type) is None:
                keys = ", ".join(s.mapping_key for s in specs if s.object_type == object_type)
                lines.append(f"{object_type}: no such object type ({self._mapping_file} {keys})")
            else:
                known.add(object_type)
                lines.append(self._group(object_type, dry_run))
        lines += [self._property(spec, dry_run) for spec in specs if spec.object_type in known]
        return lines

    def _group(self, object_type: str, dry_run: bool) -> str:
        prefix = f"{object_type} property group {GROUP}"
        answer = self._client.call(
            f"property groups of {object_type}",
            self._client.properties_groups.get_all_with_http_info,
            object_type,
        )
        if any(g.get("name") == GROUP for g in answer.get("results") or []):
            return f"{prefix}: exists"
        if dry_run:
            return f"{prefix}: would create"
        try:
            self._client.call(
                f"create property group on {object_type}",
                self._client.properties_groups.create_with_http_info,
                object_type,
                PropertyGroupCreate(name=GROUP, label=GROUP_LABEL, display_order=-1),
            )
        except RequestRejectedError as error:
            if error.status != 409:
                raise
            return f"{prefix}: exists"
        return f"{prefix}: created"

    def _property(self, spec: PropertySpec, dry_run: bool) -> str:
        have = self._schema.property(spec.object_type, spec.name)
        if have is None:
            return f"{spec.full_name}: would create ({spec.shape})" if dry_run else self._create(spec)
        problem = mismatch(have, spec)
        if problem is not None:
            return f"{spec.full_name}: problem: it {problem} ({self._mapping_file} {spec.mapping_key}); left as it is"
        options = merged_options(have, spec) if spec.options else None
        if options is None:
            return f"{spec.full_name}: exists"
        if dry_run:
            return f"{spec.full_name}: exists; would update its options and labels"
        self._client.call(
            f"update property {spec.full_name}",
            self._client.properties_core.update_with_http_info,
            spec.object_type,
            spec.name,
            PropertyUpdate(options=_options(options)),
        )
        return f"{spec.full_name}: exists; options and labels updated"

    def _create(self, spec: PropertySpec) -> str:
        body = PropertyCreate(
            name=spec.name,
            label=spec.label,
            type=spec.type,
            field_type=spec.field_type,
            group_name=GROUP,
            description=spec.description,
            options=_options(spec.options),
            has_unique_value=spec.unique,
            form_field=False,
            hidden=False,
        )
        try:
            self._client.call(
                f"create property {spec.full_name}",
                self._client.properties_core.create_with_http_info,
                spec.object_type,
                body,
            )
        except RequestRejectedError as error:
            if error.status != 409:  # 409: a retried create whose first try landed
                raise
            return f"{spec.full_name}: exists"
        unique = ", unique values" if spec.unique else ""
        return f"{spec.full_name}: created ({spec.shape}{unique})"
