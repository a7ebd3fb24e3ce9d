"""`tiersync classify` and friends through Typer's runner: happy path and every bad-input case."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from connector import __version__
from connector.cli import app
from connector.exit_codes import ExitCode

runner = CliRunner()
AS_OF = "2026-11-01"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    result = runner.invoke(
        app, ["sample-data", "--out", str(folder), "--accounts", "60", "--seed", "5", "--as-of", AS_OF]
    )
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture
def data(sample: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(sample, copy)
    return copy


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_classify_writes_csv_and_json_with_every_account(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, _ = run("classify", str(data), "--as-of", AS_OF, "--out", str(out))
    assert code == 0
    assert "60 clients as of 2026-11-01" in stdout
    csv = pl.read_csv(out / "classifications.csv")
    assert csv.height == 60
    assert set(csv["tier"]) <= {"amazing", "good", "okay", "poor"}
    rows = json.loads((out / "classifications.json").read_text())
    assert [r["account_id"] for r in rows] == sorted(csv["account_id"].to_list())
    assert isinstance(rows[0]["traits"], list)


def test_classify_reads_a_json_export(tmp_path: Path) -> None:
    export = tmp_path / "export.json"
    export.write_text(
        json.dumps(
            {
                "accounts": [{"id": "A1", "name": "Acme"}],
                "invoices": [
                    {"id": "I1", "account_id": "A1", "amount": 10, "due": "2026-10-01", "paid": "2026-10-01"}
                ],
            }
        )
    )
    code, stdout, _ = run("classify", str(export), "--as-of", AS_OF, "--out", str(tmp_path / "o"))
    assert code == 0, stdout
    assert "1 clients" in stdout


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "expected an error message"
    assert "Traceback" not in stderr
    return lines[0]


def test_missing_column_names_file_and_column(data: Path) -> None:
    frame = pl.read_csv(data / "invoices.csv").drop("account_id")
    frame.write_csv(data / "invoices.csv")
    code, _, stderr = run("classify", str(data))
    assert code == ExitCode.USAGE
    assert _one_error_line(stderr).startswith("error: invoices.csv: missing required column account_id")


def test_unparseable_date_names_file_line_and_column(data: Path) -> None:
    frame = pl.read_csv(data / "invoices.csv", infer_schema=False)
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("31/02/2026")).otherwise(pl.col("due")).alias("due")
    )
    frame.write_csv(data / "invoices.csv")
    code, _, stderr = run("classify", str(data))
    assert code == ExitCode.USAGE
    assert (
        _one_error_line(stderr)
        == "error: invoices.csv line 5, column due: expected a date as YYYY-MM-DD (got '31/02/2026')"
    )


def test_negative_amount_is_rejected(data: Path) -> None:
    frame = pl.read_csv(data / "invoices.csv", infer_schema=False)
    frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("-5")).otherwise(pl.col("amount")).alias("amount")
    ).write_csv(data / "invoices.csv")
    code, _, stderr = run("classify", str(data))
    assert code == ExitCode.USAGE
    assert (
        _one_error_line(stderr)
        == "error: invoices.csv line 2, column amount: must not be negative (got '-5')"
    )


def test_duplicate_id_names_the_later_line_and_the_first(data: Path) -> None:
    frame = pl.read_csv(data / "accounts.csv", infer_schema=False)
    frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("ACC0000001")).otherwise(pl.col("id")).alias("id")
    ).write_csv(data / "accounts.csv")
    code, _, stderr = run("classify", str(data))
    assert code == ExitCode.USAGE
    assert (
        "error: accounts.csv line 3, column id: duplicate id 'ACC0000001' (first on line 2, which is kept)"
        in stderr
    )


def test_unknown_account_in_a_child_file(data: Path) -> None:
    frame = pl.read_csv(data / "tickets.csv", infer_schema=False)
    frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("GHOST"))
        .otherwise(pl.col("account_id"))
        .alias("account_id")
    ).write_csv(data / "tickets.csv")
    code, _, stderr = run("classify", str(data))
    assert code == ExitCode.USAGE
    assert (
        _one_error_line(stderr)
        == "error: tickets.csv line 2, column account_id: unknown account 'GHOST' (not in accounts)"
    )


def test_empty_file(data: Path) -> None:
    (data / "surveys.csv").write_text("")
    code, _, stderr = run("classify", str(data))
    assert code == ExitCode.USAGE
    assert _one_error_line(stderr).startswith("error: surveys.csv: empty file")


def test_header_only_accounts_file_has_no_accounts(data: Path) -> None:
    (data / "accounts.csv").write_text("id,name\n")
    code, _, stderr = run("classify", str(data))
    assert code == ExitCode.USAGE
    assert "no accounts" in _one_error_line(stderr)


def test_non_utf8_file(data: Path) -> None:
    (data / "accounts.csv").write_bytes("id,name\nA1,Caf\xe9 M\xfcller\n".encode("latin-1"))
    code, _, stderr = run("classify", str(data))
    assert code == ExitCode.USAGE
    assert _one_error_line(stderr).startswith("error: accounts.csv: not UTF-8 text")


def test_missing_accounts_file(data: Path) -> None:
    (data / "accounts.csv").unlink()
    code, _, stderr = run("classify", str(data))
    assert code == ExitCode.USAGE
    assert "accounts.csv: missing" in _one_error_line(stderr)


def test_lenient_skips_bad_rows_and_classifies_the_rest(data: Path, tmp_path: Path) -> None:
    frame = pl.read_csv(data / "tickets.csv", infer_schema=False)
    frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("GHOST"))
        .otherwise(pl.col("account_id"))
        .alias("account_id")
    ).write_csv(data / "tickets.csv")
    code, _stdout, stderr = run(
        "classify", str(data), "--lenient", "--as-of", AS_OF, "--out", str(tmp_path / "o")
    )
    assert code == 0
    assert "skipped: tickets.csv line 2, column account_id: unknown account 'GHOST'" in stderr
    assert pl.read_csv(tmp_path / "o" / "classifications.csv").height == 60


def test_bad_config_is_one_line_per_problem(data: Path, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[tiers.good]\ntickets_at_most = -3\n")
    code, _, stderr = run("--config", str(config), "classify", str(data))
    assert code == ExitCode.USAGE
    assert _one_error_line(stderr).startswith(
        "error: tiers.good.tickets_at_most: Input should be greater than or equal to 0"
    )


def test_config_check_and_version(tmp_path: Path) -> None:
    code, stdout, _ = run("--config", "config.example.toml", "config", "check")
    assert code == 0
    assert "ok configuration from config.example.toml" in stdout
    code, stdout, _ = run("--version")
    assert code == 0 and __version__ in stdout


def test_sample_data_is_deterministic_per_seed(tmp_path: Path) -> None:
    for name in ("a", "b"):
        run("sample-data", "--out", str(tmp_path / name), "--accounts", "30", "--seed", "9", "--as-of", AS_OF)
    for file in ("accounts.csv", "invoices.csv", "tickets.csv"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
    run("sample-data", "--out", str(tmp_path / "c"), "--accounts", "30", "--seed", "10", "--as-of", AS_OF)
    assert (tmp_path / "a" / "invoices.csv").read_bytes() != (tmp_path / "c" / "invoices.csv").read_bytes()


def test_help_everywhere() -> None:
    for args in (
        ["--help"],
        ["classify", "--help"],
        ["config", "check", "--help"],
        ["sample-data", "--help"],
    ):
        code, stdout, _ = run(*args)
        assert code == 0
        assert "Usage" in stdout


def test_markup_in_account_names_is_printed_as_text(data: Path) -> None:
    frame = pl.read_csv(data / "accounts.csv", infer_schema=False)
    frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("[bold red]Evil[/] <script>"))
        .otherwise(pl.col("name"))
        .alias("name")
    ).write_csv(data / "accounts.csv")
    code, stdout, _ = run("classify", str(data), "--as-of", AS_OF, "--limit", "100")
    assert code == 0
    assert "Evil[/]" in stdout, "markup in data must be shown, not interpreted"
