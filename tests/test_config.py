"""Settings: TOML + environment, one readable line per problem, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.config import ConfigError, load_settings

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tiersync.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_is_valid_and_matches_the_defaults_it_documents() -> None:
    settings = load_settings(REPO / "config.example.toml")
    assert settings.tiers.poor.complaints_at_least == 6
    assert settings.evidence.window_days == 365
    assert settings.traits.outside_icp.industries == []


def test_example_config_holds_exactly_the_defaults() -> None:
    """Copying the example changes nothing: a value that is not the default is commented out."""
    from connector.config import Settings

    example = load_settings(REPO / "config.example.toml").model_dump(mode="json", exclude={"state_path"})
    assert example == Settings().model_dump(mode="json", exclude={"state_path"})


def test_each_bad_key_is_one_line_naming_the_key(tmp_path: Path) -> None:
    path = write(
        tmp_path, '[tiers.poor]\ncomplaints_at_least = "many"\ntypo = 1\n[evidence]\ngrace_days = -1\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    problems = sorted(caught.value.problems)
    assert len(problems) == 3
    assert problems[0] == "evidence.grace_days: Input should be greater than or equal to 0 (got -1)"
    assert problems[1].startswith("tiers.poor.complaints_at_least: Input should be a valid integer")
    assert problems[1].endswith("(got 'many')")
    assert problems[2] == "tiers.poor.typo: unknown key (check the spelling against config.example.toml)"


def test_invalid_toml_names_the_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"tiersync.toml: not valid TOML: .*line 2"):
        load_settings(write(tmp_path, "crm = 'salesforce'\n[tiers\n"))


def test_missing_config_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_secrets_come_from_the_environment_and_never_print(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIERSYNC_SALESFORCE__PASSWORD", "hunter2-secret")
    monkeypatch.setenv("TIERSYNC_HUBSPOT__ACCESS_TOKEN", "pat-na1-secret")
    settings = load_settings(write(tmp_path, "[salesforce]\nusername = 'ops@example.com'\n"))
    assert settings.salesforce.password is not None
    assert settings.salesforce.password.get_secret_value() == "hunter2-secret"
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.model_dump())
    assert "pat-na1" not in repr(settings)


def test_secret_with_wrong_type_is_reported_without_its_value(tmp_path: Path) -> None:
    path = write(tmp_path, "[salesforce]\npassword = 12345678\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "12345678" not in str(caught.value)
    assert caught.value.problems[0].startswith("salesforce.password:")


def test_environment_overrides_a_threshold_in_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIERSYNC_TIERS__POOR__COMPLAINTS_AT_LEAST", "9")
    settings = load_settings(write(tmp_path, "[tiers.poor]\ncomplaints_at_least = 4\n"))
    assert settings.tiers.poor.complaints_at_least == 9


def test_state_file_defaults_beside_the_config(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "")).state_path == tmp_path / "tiersync-state.sqlite"


def test_action_without_condition_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, '[[playbook.actions]]\ncode = "everyone"\ntitle = "Call everyone"\n')
    with pytest.raises(ConfigError, match="needs tiers, traits, reasons, decisions or growth_points"):
        load_settings(path)


def _keys(model: type, prefix: str = "") -> list[str]:
    from pydantic import BaseModel

    keys = []
    for name, field in model.model_fields.items():  # type: ignore[attr-defined]
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += _keys(annotation, f"{prefix}{name}.")
        else:
            keys.append(f"{prefix}{name}")
    return keys


def test_example_config_mentions_every_setting() -> None:
    from connector.classify.playbook_settings import Action
    from connector.config import Settings

    text = (REPO / "config.example.toml").read_text()
    for key in _keys(Settings) + [f"playbook.actions.{k}" for k in Action.model_fields]:
        leaf = key.rsplit(".", 1)[-1]
        if key.startswith("salesforce.") or key.startswith("hubspot."):
            continue  # secrets and auth are documented in the README's CRM sections
        assert leaf in text, f"config.example.toml does not document {key}"


def test_bulk_page_size_is_capped_where_a_page_still_classifies_in_bounded_memory(tmp_path: Path) -> None:
    """A Bulk page is classified in memory (about 30 KB per account): at 50,000 a first full
    sync peaks near 1.6 GB, so a larger page is refused up front rather than found out mid-run."""
    assert (
        load_settings(write(tmp_path, "[salesforce]\nbulk_page_size = 50000\n")).salesforce.bulk_page_size
        == 50_000
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, "[salesforce]\nbulk_page_size = 50001\n"))
    assert caught.value.problems == [
        "salesforce.bulk_page_size: Input should be less than or equal to 50000 (got 50001)"
    ]
