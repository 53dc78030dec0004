"""Profile and stores files are read defensively: bounded, decoded, typed, one line each.

A file that is not UTF-8, that holds a nested list where a number or a slot
belongs, that never ends (``/dev/zero``) or that is a pipe nobody writes to
is one line naming the file and the place, exit 2; never a traceback or a
read that goes on for ever.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from producer.cli import main
from producer.settings import SPECS
from sim.errors import MAX_FILE_BYTES
from tests.profiles import profile_text, write_profile

CLEAN = {spec.env: None for spec in SPECS.values()}


def one_error_line(args: list[str], env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(main, args, env={**CLEAN, **(env or {})})
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("foot-traffic: error: "), result.stderr
    return lines[0]


def simulate(tmp_path: Path, *args: str) -> list[str]:
    return ["simulate", "--days", "1", "--seed", "1", "--quiet", "--out", str(tmp_path / "out"), *args]


def test_a_profile_that_is_not_utf8_names_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    head = profile_text().encode()
    path.write_bytes(head + b'name = "Caf\xe9"\n')
    line = one_error_line(simulate(tmp_path, "--profile-file", str(path)))
    lines = len(head.splitlines())
    where = f"byte 0xe9 at offset {len(head) + 11}, line {lines + 1})"
    assert str(path) in line and "not UTF-8 text" in line and where in line, line


def test_a_stores_file_that_is_not_utf8_names_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "stores.toml"
    path.write_bytes(b'[[stores]]\nid = "\xff\xfe"\n')
    line = one_error_line(simulate(tmp_path, "--stores", str(path)))
    assert "STORES file" in line and str(path) in line and "byte 0xff at offset 17" in line, line


@pytest.mark.parametrize(("text", "key"), [
    (profile_text(weights={"Monday": [[1], 1, 1, 1, 1, 1]}), "weights.Monday[0]"),
    (profile_text(tables='[closed]\nMonday = [["00:00"]]\n'), "closed.Monday[0]"),
    (profile_text(tables='[[special]]\ndate = "2025-11-28"\nmultiplier = 2\nslots = [["17:00"]]\n'),
     "special[0].slots[0]"),
    (profile_text(tables='[[special]]\ndate = [["2025-11-28"]]\nmultiplier = 2\n'), "special[0].date"),
    (profile_text(tables='[dwell]\nkind = ["gamma"]\n'), "dwell.kind"),
    (profile_text(tables='[dwell]\nkind = "gamma"\nmedian = [20]\nspread = 0.5\n'), "dwell.median"),
    (profile_text(tables='[dwell]\nkind = "mixture"\nbands = [[[1], 5]]\nshares = [1]\n'), "dwell.bands[0][0]"),
    (profile_text(tables='[dwell]\nkind = "default"\n[[dwell.by_slot]]\nslots = [["10:00"]]\nkind = "default"\n'),
     "dwell.by_slot[0].slots[0]"),
    (profile_text(tables='[dwell]\nkind = "default"\n[[dwell.by_slot]]\nweekdays = [[]]\nkind = "default"\n'),
     "dwell.by_slot[0].weekdays[0]"),
    (profile_text(top="closures = [[2025-12-25]]"), "closures[0]"),
    (profile_text(top="baseline = [[850]]"), "baseline"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None)
def test_nested_lists_where_values_belong_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    path = write_profile(tmp_path, text)
    line = one_error_line(simulate(tmp_path, "--profile-file", str(path)))
    assert "PROFILE_FILE" in line and key in line, line


@pytest.mark.parametrize(("store", "key"), [
    ('id = "a"\ncapacity_mode = [["queue"]]', "capacity_mode"),
    ('id = "a"\ntimezone = [["UTC"]]', "timezone"),
    ('id = "a"\nbaseline = [[1]]', "baseline"),
    ('id = [["a"]]', "id"),
    ('id = "a"\nprofile = [["p.toml"]]', "profile"),
])
def test_nested_lists_in_a_stores_file_name_the_store_and_key(tmp_path: Path, store: str, key: str) -> None:
    path = tmp_path / "stores.toml"
    path.write_text(f"[[stores]]\n{store}\n", encoding="utf-8")
    line = one_error_line(simulate(tmp_path, "--stores", str(path)))
    assert "STORES file" in line and key in line, line


@pytest.mark.parametrize("option", ["--profile-file", "--stores"])
def test_a_file_that_never_ends_is_read_up_to_the_limit(tmp_path: Path, option: str) -> None:
    began = time.monotonic()
    line = one_error_line(simulate(tmp_path, option, "/dev/zero"))
    assert "/dev/zero" in line and f"larger than {MAX_FILE_BYTES:,} bytes" in line, line
    assert time.monotonic() - began < 30  # patient: a bounded read takes milliseconds


def test_the_profile_file_setting_from_the_environment_is_bounded_too(tmp_path: Path) -> None:
    line = one_error_line(simulate(tmp_path), {"PROFILE_FILE": "/dev/zero"})
    assert line.startswith("foot-traffic: error: PROFILE_FILE: profile file '/dev/zero': larger than"), line


def test_a_file_just_over_the_limit_is_refused_and_one_under_is_read(tmp_path: Path) -> None:
    text = profile_text()
    big = tmp_path / "big.toml"
    big.write_text(text + "#" * (MAX_FILE_BYTES - len(text)) + "\n", encoding="utf-8")  # one byte over
    assert "larger than" in one_error_line(simulate(tmp_path, "--profile-file", str(big)))
    fits = tmp_path / "fits.toml"
    fits.write_text(text + "#" * (MAX_FILE_BYTES - len(text) - 1) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, simulate(tmp_path, "--profile-file", str(fits)), env=CLEAN)
    assert result.exit_code == 0, result.output


def test_a_pipe_without_a_writer_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "profile.fifo"
    os.mkfifo(fifo)
    line = one_error_line(simulate(tmp_path, "--profile-file", str(fifo)))
    assert str(fifo) in line and "slots" in line, line  # read as empty: no slots


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    line = one_error_line(simulate(tmp_path, "--profile-file", str(tmp_path)))
    assert "cannot read it" in line, line
