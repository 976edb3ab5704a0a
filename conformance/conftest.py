"""pytest plugin: every conformance scenario variant is a test item.

Collection asks the runner (``tlsrig list FILE``) for the variant ids of each
``scenarios/**/*.scn`` file, so a matrix scenario gives one item per variant,
e.g. ``scenarios/handshake/x.scn::x[version=1.2]``. A file the runner calls
malformed becomes a collection error showing its ``file:line: message``.

Running one runner process per item would pay process start-up, PKI loading
and scenario parsing for every variant, so the first item of a file runs the
whole file once (``tlsrig run --json``) and every item of that file then
reports its entry from that run. The cache is a module global: under
pytest-xdist every worker is its own process, keeps its own cache, and runs a
file at most once however many of its items it is handed.

Run with ``/usr/bin/python3 -m pytest conformance`` from the repository root.
The runner binary is ``build/bin/tlsrig`` (or ``$TLSRIG_BIN``); the test PKI is
the runner's default (``pki``, or ``$TLSRIG_PKI``).
"""

import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

CONFORMANCE = Path(__file__).resolve().parent
REPO = CONFORMANCE.parent
SCENARIOS = CONFORMANCE / "scenarios"

# Exit status of the runner for malformed input (see README.md, "Running").
EXIT_MALFORMED = 2


def tlsrig_binary():
    """Path of the runner binary, or raise with what to do about it."""
    env = os.environ.get("TLSRIG_BIN")
    path = Path(env) if env else REPO / "build" / "bin" / "tlsrig"
    if not path.is_file() or not os.access(path, os.X_OK):
        raise FileNotFoundError(
            f"tlsrig runner not found at {path}: run make build/bin/tlsrig"
            + (" (or fix $TLSRIG_BIN)" if env else "")
        )
    return path


def display_path(path):
    """A scenario path as the runner should print it: relative to the repository
    when it is inside, so messages read conformance/scenarios/x.scn:12."""
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def pytest_configure(config):
    """Under pytest-xdist, -n alone means --dist load, which may hand the items of one
    file to several workers, and each of them would then run the whole file. When no
    mode was asked for, loadfile keeps a file's items together so it runs once."""
    if getattr(config.option, "dist", "no") != "load" or getattr(config.option, "distload", False):
        return
    given = (
        list(config.invocation_params.args)
        + os.environ.get("PYTEST_ADDOPTS", "").split()
        + list(config.getini("addopts"))
    )
    if any(a == "--dist" or a.startswith("--dist=") for a in given):
        return
    config.option.dist = "loadfile"


def pytest_sessionstart(session):
    # One clear message instead of a collection error for every scenario file.
    try:
        tlsrig_binary()
    except FileNotFoundError as e:
        raise pytest.UsageError(str(e)) from None


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".scn" and SCENARIOS in file_path.resolve().parents:
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class RunnerFailure(Exception):
    """A scenario did not pass; the message is the runner's."""


class ScenarioFile(pytest.File):
    def collect(self):
        try:
            binary = tlsrig_binary()
        except FileNotFoundError as e:
            raise self.CollectError(str(e)) from None
        proc = subprocess.run(
            [str(binary), "list", display_path(self.path)],
            cwd=REPO,
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
        )
        if proc.returncode != 0:
            detail = proc.stderr.strip() or f"tlsrig list exited with status {proc.returncode}"
            raise self.CollectError(detail)
        for line in proc.stdout.splitlines():
            # "id  RFC ...": the id never holds two spaces in a row.
            scenario_id = line.split("  ", 1)[0].strip()
            if scenario_id:
                yield ScenarioItem.from_parent(self, name=scenario_id, scenario_id=scenario_id)


# path of a scenario file -> {id: runner JSON entry}, or an error string when the
# run as a whole failed. Filled once per file per process.
_results = {}


def _run_file(path):
    binary = tlsrig_binary()
    fd, json_path = tempfile.mkstemp(prefix="tlsrig-", suffix=".json")
    os.close(fd)
    # Outside xdist the matrix variants of one file may as well use every CPU; inside
    # it the workers already do.
    jobs = "1" if os.environ.get("PYTEST_XDIST_WORKER") else "0"
    try:
        proc = subprocess.run(
            [str(binary), "run", "-j", jobs, "--json", json_path, display_path(path)],
            cwd=REPO,
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
        )
        try:
            with open(json_path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            entries = json.loads(text) if text.strip() else None
        except (OSError, ValueError) as e:
            entries = None
            proc.stderr += f"\n(cannot read the runner's JSON report: {e})"
    finally:
        try:
            os.unlink(json_path)
        except OSError:
            pass
    if entries is None:
        return (
            f"tlsrig run exited with status {proc.returncode} without a report:\n"
            f"{proc.stderr.strip()}"
        )
    return {entry["id"]: entry for entry in entries}


def scenario_result(path, scenario_id):
    key = str(Path(path).resolve())
    if key not in _results:
        _results[key] = _run_file(path)
    results = _results[key]
    if isinstance(results, str):
        raise RunnerFailure(results)
    entry = results.get(scenario_id)
    if entry is None:
        raise RunnerFailure(f"the runner reported nothing for {scenario_id}")
    return entry


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario_id, **kwargs):
        super().__init__(**kwargs)
        self.scenario_id = scenario_id

    def runtest(self):
        entry = scenario_result(self.path, self.scenario_id)
        status = entry.get("status")
        message = entry.get("message") or ""
        if status == "PASS":
            return
        if status == "XFAIL":
            pytest.xfail(message)
        if status == "XPASS":
            raise RunnerFailure(f"XPASS: {message}")
        raise RunnerFailure(f"{status}: {message}")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, RunnerFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"scenario {self.scenario_id}"
