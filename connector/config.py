"""Settings: one TOML file (``--config`` or ``TIERSYNC_CONFIG``) plus ``TIERSYNC_…`` environment variables.

Every classifier threshold is a setting, none is in code: sales ops tune tiers by editing the file.
The classifier's sections (tiers, traits, growth, decision, playbook, comms) are defined beside the
rules in ``connector/classify/``; this module composes them with files, environment and connections.
Secrets are ``SecretStr`` so that they never print, and come from the environment
(``TIERSYNC_SALESFORCE__PASSWORD``) or a secrets directory, never from the committed TOML.

A config may name several CRM connections (``[connections.<name>]``), each with its own CRM,
mapping, credentials and threshold overrides; :meth:`Settings.connection_settings` turns each into
a complete :class:`Settings`, so the engine and the adapters never see the difference.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import (
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NestedSecretsSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from connector.classify.comms_settings import CommsSettings
from connector.classify.decision_settings import DecisionSettings
from connector.classify.evidence_settings import EvidenceSettings
from connector.classify.growth_settings import GrowthSettings
from connector.classify.playbook_settings import PlaybookSettings
from connector.classify.tier_settings import TierRules
from connector.classify.trait_settings import DEFAULT_TRAIT_LABELS, TraitRules
from connector.model import Decision, GrowthPoint, Tier, Trait
from connector.sections import Section

CONFIG_ENV = "TIERSYNC_CONFIG"
SECRETS_DIR_ENV = "TIERSYNC_SECRETS_DIR"
DEFAULT_CONNECTION = "default"
"""The one connection of a config without ``[connections]``: its name in the state and the lock."""
CONNECTION_NAME = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"
"""Lower case with single underscores: the name is also part of ``TIERSYNC_CONNECTIONS__<NAME>__…``."""
OVERRIDABLE = (
    "evidence",
    "tiers",
    "traits",
    "trait_labels",
    "growth",
    "decision",
    "playbook",
    "comms",
    "sync",
    "insights",
    "tasks",
)
"""The sections a connection may override; CRM, credentials and state are set per connection or not at all."""


class InsightSettings(Section):
    """Learning from the top (docs/rules.md, Learning from the top): the ideal-client profile, look-alike fit and the backtest."""

    top_tiers: list[Tier] = Field(
        default_factory=lambda: [Tier.AMAZING, Tier.GOOD],
        description="The tiers the profile learns from; every other tier is 'the rest'.",
    )
    attributes: list[str] = Field(
        default_factory=lambda: ["industry", "region", "size", "source"],
        description="Account attributes the profile compares; 'size' is the employee band.",
    )
    free_attributes: bool = Field(True, description="Also compare the accounts' free attribute columns.")
    max_values: int = Field(
        50, ge=2, description="An attribute with more distinct values (an id, a website) is left out."
    )
    employee_bands: list[int] = Field(
        default_factory=lambda: [10, 50, 250, 1000],
        description="Upper bounds of the employee-count bands, increasing; the last band takes the rest.",
    )
    min_support: int = Field(
        10, ge=1, description="A value held by fewer accounts is listed, but fit treats it as unknown."
    )
    smoothing: float = Field(1.0, gt=0, description="Laplace smoothing of the shares behind lift and fit.")
    currency: str = Field(
        "USD",
        min_length=1,
        max_length=8,
        description="Currency code shown with every amount in the report and explain.",
    )
    backtest_margin: float = Field(
        0.02, ge=0, le=1, description="Outcome rates closer than this do not separate two tiers."
    )
    backtest_min_accounts: int = Field(
        20, ge=1, description="A tier needs this many accounts with a known outcome to be judged."
    )
    expansion_ratio: float = Field(
        1.2, gt=1, description="Revenue next window above this times this window's is an expansion."
    )
    churned_statuses: list[str] = Field(
        default_factory=lambda: ["churned"], description="Account statuses that mean the client left."
    )
    report_accounts_per_trait: int = Field(10, ge=1, description="Accounts the report lists per trait.")

    @model_validator(mode="after")
    def _consistent(self) -> InsightSettings:
        if not self.top_tiers or set(self.top_tiers) == set(Tier):
            raise ValueError("top_tiers: name at least one tier and leave at least one for 'the rest'")
        bands = self.employee_bands
        if any(b < 1 for b in bands) or bands != sorted(set(bands)):
            raise ValueError("employee_bands: give positive upper bounds in increasing order")
        return self


class SyncSettings(Section):
    """How the sync reads, writes and stops."""

    lookback_minutes: int = Field(
        10, ge=0, description="Re-read changes this far before the watermark (clock skew)."
    )
    page_size: int = Field(
        2000, ge=200, le=2000, description="Accounts per read page (with all their evidence)."
    )
    api_limit_share: float = Field(
        0.8, gt=0, le=1, description="Stop cleanly before this share of the daily API limit is used."
    )
    record_retry_attempts: int = Field(
        4, ge=1, description="Tries for a record that fails with a retriable error."
    )
    task_subject_prefix: str = Field("[tiersync]", max_length=40)
    reasons_max_chars: int = Field(32000, ge=255, description="The reasons field is cut to this length.")


class PriorityRule(Section):
    """One rank of the task priority: it matches an action when every condition given holds (the
    account's tier is one of ``tiers``, it carries one of ``traits``, one of ``reasons`` explains its
    tier or traits, the action is one of ``actions``; touches are ``comms:<code>``)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    tiers: list[Tier] = Field(default_factory=list)
    traits: list[Trait] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    actions: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_a_condition(self) -> PriorityRule:
        if not (self.tiers or self.traits or self.reasons or self.actions):
            raise ValueError(f"priority rule {self.name!r} needs tiers, traits, reasons or actions")
        return self


PAYMENT_REASONS = ["poor.on_time_rate", "poor.unpaid_overdue"]

DEFAULT_PRIORITY: list[PriorityRule] = [
    PriorityRule(name="poor_conduct", tiers=[Tier.POOR], traits=[Trait.BULLY]),
    PriorityRule(name="poor_payment", tiers=[Tier.POOR], reasons=PAYMENT_REASONS),
    PriorityRule(
        name="revenue_at_risk",
        actions=[
            "review_relationship",
            "check_solvency",
            "move_to_paid_service_level",
            "plan_courteous_exit",
        ],
    ),
    # a poor client's growth-point or development action stands in for its relationship review
    PriorityRule(name="poor_relationship", tiers=[Tier.POOR]),
    PriorityRule(name="referral_ask", actions=["ask_for_referral"]),
]
"""Everything no rule matches (routine touches, the other actions) comes after, in due-date order."""


class TaskSettings(Section):
    """How many tiersync tasks an account manager gets, in which order, and how they are grouped."""

    max_new_per_owner_per_week: int = Field(
        10, ge=0, description="New tiersync tasks per owner per calendar week (0: unlimited)."
    )
    max_open_per_owner: int = Field(
        30, ge=0, description="Open tiersync tasks per owner at once (0: unlimited)."
    )
    one_task_per_action: bool = Field(
        False, description="true: one task per action; false: one 'Client plan' task per account per sync."
    )
    spread_cadences: bool = Field(
        True, description="Offset each account's periods by a stable hash of its id."
    )
    coalesce_days: int = Field(
        28,
        ge=0,
        description="Actions held back but due within this many days ride along when a task goes out "
        "for the account; newly due actions join the account's open tiersync task (0: neither).",
    )
    priority: list[PriorityRule] = Field(default_factory=lambda: list(DEFAULT_PRIORITY))


class SalesforceSettings(Section):
    instance_url: str | None = None
    api_version: str = "60.0"
    session_id: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    domain: str = "login"
    consumer_key: str | None = None
    consumer_secret: SecretStr | None = None
    private_key_file: Path | None = None
    ca_bundle: Path | None = Field(
        None, description="PEM bundle to trust (corporate proxy or the sandbox CA)."
    )
    bulk_threshold: int = Field(
        10_000,
        ge=0,
        description="A full read of more accounts, or a write of more records, uses Bulk API 2.0.",
    )
    bulk_page_size: int = Field(
        25_000,
        ge=200,
        le=50_000,
        description=(
            "Accounts per page in a Bulk read; above bulk_threshold so each page's writes are one job. "
            "Capped because a page is classified in memory (about 30 KB per account)."
        ),
    )
    bulk_poll_timeout: float = Field(
        1800.0, gt=0, description="Seconds to wait for one Bulk job before aborting it with an error."
    )
    describe_ttl_seconds: float = Field(
        0.0,
        ge=0,
        description="Reuse an object's describe (and the where conditions checked against it, the API "
        "user's Id and owner names) across runs for this long (0: look them up every run); "
        "setup-fields and cleanup clear the cache.",
    )

    @field_validator("domain")
    @classmethod
    def _host_label(cls, value: str) -> str:
        # simple-salesforce builds https://<domain>.salesforce.com; a host:port/path prefix (a local
        # login server) is allowed, a scheme or a character no host name has is not
        if value.startswith(("http:", "https:")) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.:/?-]*", value):
            raise ValueError("must be login, test or your My Domain (e.g. yourcompany.my), not a URL")
        return value

    @field_validator("instance_url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https://[A-Za-z0-9.-]+(:[0-9]+)?/?", value):
            raise ValueError("must be https://<host>, such as https://yourcompany.my.salesforce.com")
        return value


class HubSpotSettings(Section):
    access_token: SecretStr | None = None
    host: str = "https://api.hubapi.com"
    ca_bundle: Path | None = Field(
        None, description="PEM bundle to trust (corporate proxy or the sandbox CA)."
    )
    properties_ttl_seconds: float = Field(
        0.0,
        ge=0,
        description="Reuse the portal's property definitions (and the portal id the token reaches) "
        "across runs for this long (0: read them every run); setup-fields and cleanup clear the cache.",
    )
    owners_ttl_seconds: float = Field(
        0.0,
        ge=0,
        description="Reuse owner names across runs for this long (0: list the owners every run); an "
        "owner id not in the cache lists them afresh, a renamed owner shows the old name until then.",
    )


class ConnectionSettings(Section):
    """One CRM connection of a config that names several (``[connections.<name>]``).

    Its CRM section is its own: nothing is inherited from the top-level ``[salesforce]`` or
    ``[hubspot]``, so one org's credentials never reach another. ``overrides`` is deep-merged over
    the top-level thresholds, for this connection only."""

    crm: Literal["salesforce", "hubspot"]
    mapping: Path | None = Field(None, description="Mapping file (default: mappings/<crm>.toml).")
    salesforce: SalesforceSettings = SalesforceSettings()
    hubspot: HubSpotSettings = HubSpotSettings()
    overrides: dict[str, Any] = Field(
        default_factory=dict, description=f"Sections to change for this connection: {', '.join(OVERRIDABLE)}."
    )


class Settings(BaseSettings):
    """All of tiersync's settings; build with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="TIERSYNC_",
        env_nested_delimiter="__",
        secrets_prefix="",
        secrets_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    crm: Literal["salesforce", "hubspot"] = "salesforce"
    evidence: EvidenceSettings = EvidenceSettings()
    tiers: TierRules = TierRules()
    traits: TraitRules = TraitRules()
    trait_labels: dict[Trait, str] = Field(default_factory=lambda: dict(DEFAULT_TRAIT_LABELS))
    growth: GrowthSettings = GrowthSettings()
    decision: DecisionSettings = DecisionSettings()
    playbook: PlaybookSettings = PlaybookSettings()
    comms: CommsSettings = CommsSettings()
    tasks: TaskSettings = TaskSettings()
    sync: SyncSettings = SyncSettings()
    insights: InsightSettings = InsightSettings()
    salesforce: SalesforceSettings = SalesforceSettings()
    hubspot: HubSpotSettings = HubSpotSettings()
    mapping: Path | None = Field(None, description="Mapping file (default: mappings/<crm>.toml).")
    state_path: Path | None = Field(None, description="SQLite state file; default beside the config file.")
    state_url: SecretStr | None = Field(
        None,
        description="PostgreSQL state shared by several machines (postgresql://user@host/db); "
        "replaces state_path. The password comes from TIERSYNC_STATE_URL or PGPASSWORD.",
    )
    connections: dict[str, ConnectionSettings] = Field(
        default_factory=dict, description="Several CRM connections; without it, one named 'default'."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives as init values; the environment and secrets beat it, so secrets
        # and per-run overrides never need a file edit.
        # One file per setting in TIERSYNC_SECRETS_DIR, named like the variable without its prefix:
        # salesforce__password, connections__emea__hubspot__access_token.
        return env_settings, NestedSecretsSettingsSource(file_secret_settings), init_settings

    @field_validator("state_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "must be a postgresql:// URL, such as postgresql://tiersync@db.example.com/tiersync"
            )
        return value

    @field_validator("connections")
    @classmethod
    def _connection_names(cls, value: dict[str, ConnectionSettings]) -> dict[str, ConnectionSettings]:
        bad = [name for name in value if not re.fullmatch(CONNECTION_NAME, name)]
        if bad:
            raise ValueError(
                f"connection name {', '.join(map(repr, bad))}: use lower-case letters, digits and single "
                "underscores (the name is part of the TIERSYNC_CONNECTIONS__<NAME>__… variables)"
            )
        return value

    def label(self, trait: Trait) -> str:
        return self.trait_labels.get(trait, DEFAULT_TRAIT_LABELS[trait])

    def value_labels(self) -> dict[str, str]:
        """Neutral labels of every code setup-fields puts in a picklist: traits, growth points, decisions."""
        return {
            **{t.value: self.label(t) for t in Trait},
            **{p.value: self.growth.label(p) for p in GrowthPoint},
            **{d.value: self.decision.label(d) for d in Decision},
        }

    def connection_settings(self) -> dict[str, Settings]:
        """The complete settings of each connection, by name, in config order.

        Without ``[connections]`` these settings are the one connection, ``default``. Otherwise each
        connection gets its own ``crm``, ``mapping`` and CRM section, the shared state settings, and
        the top-level thresholds with its ``overrides`` deep-merged in. Raises :class:`ConfigError`
        with one line per bad override, naming the key."""
        if not self.connections:
            return {DEFAULT_CONNECTION: self}
        problems: list[str] = []
        result: dict[str, Settings] = {}
        for name, connection in self.connections.items():
            update = self._overridden(connection.overrides, f"connections.{name}.overrides", problems)
            update.update(
                crm=connection.crm,
                mapping=connection.mapping,
                salesforce=connection.salesforce,
                hubspot=connection.hubspot,
                connections={},
            )
            result[name] = self.model_copy(update=update)
        if problems:
            raise ConfigError(problems)
        return result

    def _overridden(self, overrides: dict[str, Any], where: str, problems: list[str]) -> dict[str, Any]:
        """Each overridden section, validated after the merge (``model_validate`` would re-read the
        environment and put the top-level variables back over the connection's overrides)."""
        update: dict[str, Any] = {}
        for key, value in overrides.items():
            if key in ConnectionSettings.model_fields:
                owner = where.removesuffix(".overrides")
                problems.append(f"{where}.{key}: set {owner}.{key} instead (not an override)")
                continue
            if key not in OVERRIDABLE:
                problems.append(
                    f"{where}.{key}: not overridable per connection; it is shared by every connection"
                    if key in type(self).model_fields
                    else _describe({"loc": (where, key), "type": "extra_forbidden"})
                )
                continue
            annotation: Any = type(self).model_fields[key].annotation
            adapter: TypeAdapter[Any] = TypeAdapter(annotation)
            current = adapter.dump_python(getattr(self, key))
            try:
                update[key] = adapter.validate_python(_deep_merge(current, value))
            except ValidationError as exc:
                problems += [_describe({**dict(e), "loc": (where, key, *e["loc"])}) for e in exc.errors()]
        return update


def _deep_merge(base: Any, override: Any) -> Any:
    """``override`` over ``base``, table by table; any other value (a list, a number) replaces."""
    if not (isinstance(base, dict) and isinstance(override, dict)):
        return override
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _deep_merge(merged.get(key), value)
    return merged


class ConfigError(Exception):
    """A configuration problem, already phrased for the user: one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key (check the spelling against config.example.toml)"
    given = error.get("input")
    shown = "" if isinstance(given, dict | list) or given is None else f" (got {given!r})"
    if "secret" in key or key.endswith(("password", "token", "session_id", "access_token", "state_url")):
        shown = ""
    return f"{key}: {error['msg']}{shown}"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read: {exc.strerror}"]) from None


def _holds_password(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return bool(parts.password) or "password" in parse_qs(parts.query)


def load_settings(path: Path | None = None) -> Settings:
    """Read settings from ``path`` (or ``$TIERSYNC_CONFIG``; none → defaults) and the environment.

    Raises :class:`ConfigError` naming every bad key; never a pydantic traceback.
    """
    if path is None and os.environ.get(CONFIG_ENV):
        path = Path(os.environ[CONFIG_ENV])
    if path is not None and not path.is_file():
        raise ConfigError([f"config file {path} does not exist"])
    values = _read_toml(path) if path is not None else {}
    refused = _secrets_in(values)
    if refused:
        raise ConfigError(refused)
    if path is not None:
        _resolve_paths(values, path.parent)
    if isinstance(values.get("state_url"), str) and _holds_password(values["state_url"]):
        raise ConfigError(
            ["state_url: the file must not hold the password; set TIERSYNC_STATE_URL or PGPASSWORD instead"]
        )
    secrets_dir = os.environ.get(SECRETS_DIR_ENV) or None
    if secrets_dir is not None and not Path(secrets_dir).is_dir():
        raise ConfigError([f"{SECRETS_DIR_ENV}: {secrets_dir} is not a folder"])
    try:
        settings = Settings(_secrets_dir=secrets_dir, **values)
    except ValidationError as exc:
        raise ConfigError([_describe(dict(e)) for e in exc.errors()]) from None
    settings.connection_settings()  # a bad override is a config error now, not when its turn comes
    if settings.state_path is None:
        base = path.parent if path is not None else Path.cwd()
        settings = settings.model_copy(update={"state_path": base / "tiersync-state.sqlite"})
    return settings


SECRET_KEYS = ("password", "security_token", "session_id", "access_token", "consumer_secret")
"""Settings that must come from the environment or ``TIERSYNC_SECRETS_DIR``, never the TOML file."""

PATH_KEYS = (
    "mapping",
    "state_path",
    "salesforce.ca_bundle",
    "salesforce.private_key_file",
    "hubspot.ca_bundle",
)
"""File settings: a relative path in the TOML file is relative to that file, wherever tiersync runs."""


def _crm_sections(values: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(prefix, table)`` for the top level and each ``[connections.<name>]`` table of raw TOML."""
    tables = [("", values)]
    connections = values.get("connections")
    if isinstance(connections, dict):
        tables += [(f"connections.{n}.", c) for n, c in connections.items() if isinstance(c, dict)]
    return tables


def _secrets_in(values: dict[str, Any]) -> list[str]:
    """One line per secret found in the TOML file, naming the variable to set instead."""
    problems = []
    for prefix, table in _crm_sections(values):
        for crm in ("salesforce", "hubspot"):
            section = table.get(crm)
            if not isinstance(section, dict):
                continue
            for key in SECRET_KEYS:
                if key in section:
                    name = f"{prefix}{crm}.{key}"
                    variable = "TIERSYNC_" + name.upper().replace(".", "__")
                    problems.append(
                        f"{name}: a secret must not be in the config file; set {variable} in the "
                        f"environment (or a file {variable.removeprefix('TIERSYNC_').lower()} in "
                        f"{SECRETS_DIR_ENV})"
                    )
    return problems


def _resolve_paths(values: dict[str, Any], base: Path) -> None:
    """Make every relative file setting of the TOML file relative to the file's folder (in place)."""
    for _prefix, table in _crm_sections(values):
        for key in PATH_KEYS:
            *parents, leaf = key.split(".")
            holder: Any = table
            for part in parents:
                holder = holder.get(part) if isinstance(holder, dict) else None
            if isinstance(holder, dict) and isinstance(holder.get(leaf), str):
                given = Path(holder[leaf]).expanduser()
                holder[leaf] = str(given if given.is_absolute() else base / given)
