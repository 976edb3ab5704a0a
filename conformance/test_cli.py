"""The tlsrig command line as a user drives it: exit codes, result lines, reports,
captures, record and replay, and the pytest plugin itself.

Each test writes its own small scenarios under tmp_path, so the checks hold whatever
the scenario collection holds. Captures go to tmp_path, never to build/.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import REPO, tlsrig_binary

PASS_SCN = """\
rfc RFC 8446 §4.1
peer client client
    verify peer
    ca root
peer server server
    cert p256
handshake
expect version client TLSv1.3
send client "hello"
recv server "hello"
"""

# Line 8 expects the wrong version.
FAIL_SCN = PASS_SCN.replace("expect version client TLSv1.3", "expect version client TLSv1.2")

# Line 7 misspells a step.
BAD_SCN = PASS_SCN.replace("handshake\n", "handshak\n")

MATRIX_SCN = """\
rfc RFC 5246 §7.4
rfc RFC 8446 §4.1
matrix version = 1.2, 1.3
peer client client
    max-version ${version}
    verify peer
    ca root
peer server server
    cert rsa
handshake
expect version client TLSv${version}
"""

# The reason holds XML and JSON metacharacters on purpose.
XFAIL_SCN = """\
rfc RFC 8446 §4.2.1
xfail bug <42> & "quoted" 'too'
peer client client
    verify peer
    ca root
peer server server
    cert p256
handshake
expect version client TLSv1.2
"""

XPASS_SCN = XFAIL_SCN.replace("TLSv1.2", "TLSv1.3")

SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed(, (\d+) xfailed)?(, (\d+) errors)?$")


@pytest.fixture(scope="session")
def tlsrig():
    try:
        return str(tlsrig_binary())
    except FileNotFoundError as e:
        pytest.fail(str(e))


@pytest.fixture
def run(tlsrig, tmp_path):
    """run(*args) runs the binary from the repository root (where the default PKI
    is) and returns the CompletedProcess. `run` gets --pcap-dir under tmp_path."""

    def go(*args, timeout=120, **kwargs):
        argv = [tlsrig, *map(str, args)]
        if args and args[0] == "run" and "--pcap-dir" not in args:
            argv[2:2] = ["--pcap-dir", str(tmp_path / "pcap")]
        return subprocess.run(
            argv,
            cwd=REPO,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
            **kwargs,
        )

    return go


@pytest.fixture
def scn(tmp_path):
    """scn(name, text) writes tmp_path/scn/<name>.scn and returns its path."""
    folder = tmp_path / "scn"
    folder.mkdir(exist_ok=True)

    def write(name, text):
        path = folder / f"{name}.scn"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def result_lines(stdout):
    """The per-scenario lines, without the summary."""
    return [line for line in stdout.splitlines() if not SUMMARY.match(line)]


def summary(stdout):
    last = stdout.splitlines()[-1]
    m = SUMMARY.match(last)
    assert m, f"no summary line at the end: {stdout!r}"
    return tuple(int(m.group(i) or 0) for i in (1, 2, 4, 6))


# ---- exit codes and result lines ----


def test_passing_scenario_exits_0(run, scn):
    p = run("run", scn("ok", PASS_SCN))
    assert p.returncode == 0, p.stderr
    assert p.stdout == "PASS ok\n1 passed, 0 failed\n"


def test_failing_scenario_exits_1_with_line_and_capture(run, scn, tmp_path):
    path = scn("wrong", FAIL_SCN)
    p = run("run", path)
    assert p.returncode == 1, p.stderr
    (line,) = result_lines(p.stdout)
    assert line.startswith(f"FAIL wrong: {path}:8: ")
    assert "TLSv1.2" in line and "TLSv1.3" in line
    pcap = tmp_path / "pcap" / "wrong.pcapng"
    assert f"(capture: {pcap})" in line
    data = pcap.read_bytes()
    assert data[:4] == b"\x0a\x0d\x0d\x0a", "not a pcapng section header block"
    assert summary(p.stdout) == (0, 1, 0, 0)


def test_malformed_scenario_exits_2_and_names_the_line(run, scn):
    bad = scn("bad", BAD_SCN)
    good = scn("good", PASS_SCN)
    p = run("run", bad, good)
    assert p.returncode == 2
    assert f"{bad}:7:" in p.stderr
    assert "did you mean 'handshake'" in p.stderr
    # The valid scenario still ran.
    assert "PASS good" in result_lines(p.stdout)
    assert summary(p.stdout) == (1, 0, 0, 1)


def test_xfail_and_xpass(run, scn):
    p = run("run", scn("known", XFAIL_SCN))
    assert p.returncode == 0, p.stdout + p.stderr
    assert result_lines(p.stdout) == ["XFAIL known: bug <42> & quoted 'too'"]
    assert summary(p.stdout) == (0, 0, 1, 0)

    p = run("run", scn("fixed", XPASS_SCN))
    assert p.returncode == 1
    (line,) = result_lines(p.stdout)
    assert line.startswith("XPASS fixed")
    assert summary(p.stdout) == (0, 1, 0, 0)


def test_folder_is_searched_recursively_and_sorted(run, tmp_path):
    root = tmp_path / "tree"
    (root / "b" / "deeper").mkdir(parents=True)
    (root / "a").mkdir()
    (root / "b" / "deeper" / "zz.scn").write_text(PASS_SCN)
    (root / "a" / "mm.scn").write_text(MATRIX_SCN)
    (root / "b" / "notes.txt").write_text("not a scenario")
    p = run("run", root)
    assert p.returncode == 0, p.stdout + p.stderr
    assert result_lines(p.stdout) == ["PASS mm[version=1.2]", "PASS mm[version=1.3]", "PASS zz"]


def test_k_selects_by_substring(run, scn):
    m = scn("mat", MATRIX_SCN)
    o = scn("ok", PASS_SCN)
    p = run("run", "-k", "version=1.3", m, o)
    assert p.returncode == 0, p.stderr
    assert result_lines(p.stdout) == ["PASS mat[version=1.3]"]
    p = run("run", "-k", "no-such-id", m, o)
    assert p.returncode == 2
    assert "no-such-id" in p.stderr


def test_parallel_output_matches_serial(run, scn):
    paths = [
        scn("a-ok", PASS_SCN),
        scn("b-wrong", FAIL_SCN),
        scn("c-mat", MATRIX_SCN),
        scn("d-known", XFAIL_SCN),
        scn("e-ok", PASS_SCN),
    ]
    serial = run("run", "-j", "1", *paths)
    parallel = run("run", "-j", "2", *paths)
    assert serial.returncode == parallel.returncode == 1
    assert parallel.stdout == serial.stdout
    assert summary(serial.stdout) == (4, 1, 1, 0)


def test_tap(run, scn):
    p = run("run", "--tap", scn("a", PASS_SCN), scn("b", FAIL_SCN), scn("c", XFAIL_SCN))
    assert p.returncode == 1
    lines = p.stdout.splitlines()
    assert lines[:3] == ["TAP version 13", "1..3", "ok 1 - a"]
    assert "not ok 2 - b" in lines
    assert any(re.match(r"^not ok 3 - c # TODO ", line) for line in lines)
    assert lines[-1] == "# 1 passed, 1 failed, 1 xfailed"


def test_junit_report(run, scn, tmp_path):
    out = tmp_path / "report.xml"
    p = run(
        "run", "--junit", out,
        scn("ok", PASS_SCN), scn("wrong", FAIL_SCN), scn("mat", MATRIX_SCN), scn("known", XFAIL_SCN),
    )
    assert p.returncode == 1
    root = ET.parse(out).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    (suite,) = suites
    assert suite.get("name") == "tlsrig"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "5", "1", "0", "1",
    )
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert sorted(cases) == ["known", "mat[version=1.2]", "mat[version=1.3]", "ok", "wrong"]
    assert cases["mat[version=1.2]"].get("classname") == "mat"
    failure = cases["wrong"].find("failure")
    assert failure is not None and "wrong.scn:8:" in failure.get("message")
    skipped = cases["known"].find("skipped")
    assert skipped is not None and skipped.get("message") == "bug <42> & quoted 'too'"
    assert cases["ok"].find("failure") is None


def test_json_report(run, scn, tmp_path):
    out = tmp_path / "report.json"
    p = run("run", "--json", out, scn("wrong", FAIL_SCN), scn("mat", MATRIX_SCN), scn("known", XFAIL_SCN))
    assert p.returncode == 1
    entries = json.loads(out.read_text(encoding="utf-8"))
    by_id = {e["id"]: e for e in entries}
    assert [e["id"] for e in entries] == ["known", "mat[version=1.2]", "mat[version=1.3]", "wrong"]
    assert by_id["mat[version=1.2]"]["status"] == "PASS"
    assert by_id["mat[version=1.2]"]["rfc"] == ["RFC 5246 §7.4", "RFC 8446 §4.1"]
    assert by_id["wrong"]["status"] == "FAIL"
    assert "wrong.scn:8:" in by_id["wrong"]["message"]
    assert by_id["wrong"]["file"].endswith("wrong.scn")
    assert by_id["known"]["status"] == "XFAIL"
    assert by_id["known"]["message"] == "bug <42> & quoted 'too'"
    assert all(isinstance(e["seconds"], float) and e["seconds"] >= 0 for e in entries)


# ---- list ----


def test_list(run, scn):
    m = scn("mat", MATRIX_SCN)
    o = scn("ok", PASS_SCN)
    p = run("list", m, o)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "mat[version=1.2]  RFC 5246 §7.4; RFC 8446 §4.1",
        "mat[version=1.3]  RFC 5246 §7.4; RFC 8446 §4.1",
        "ok                RFC 8446 §4.1",
    ]
    p = run("list", "-k", "1.3", m, o)
    assert [line.split("  ")[0] for line in p.stdout.splitlines()] == ["mat[version=1.3]"]


def test_list_rfc_counts_scenarios(run, scn):
    paths = [scn("mat", MATRIX_SCN), scn("ok", PASS_SCN), scn("known", XFAIL_SCN)]
    p = run("list", "--rfc", *paths)
    assert p.returncode == 0, p.stderr
    rows = [re.split(r"\s{2,}", line) for line in p.stdout.splitlines()]
    # Sorted by section, numbers by value; the matrix file counts once.
    assert rows == [["RFC 5246 §7.4", "1"], ["RFC 8446 §4.1", "2"], ["RFC 8446 §4.2.1", "1"]]


def test_list_malformed(run, scn):
    p = run("list", scn("bad", BAD_SCN), scn("ok", PASS_SCN))
    assert p.returncode == 2
    assert "bad.scn:7:" in p.stderr
    assert p.stdout.startswith("ok ")


# ---- record and replay ----


def flip_hex_digit(line):
    """Change one hex digit of a chunk line ("S 0 <hex>") in its middle."""
    head, hexdata = line.rsplit(" ", 1)
    i = len(hexdata) // 2
    digit = "0" if hexdata[i] != "0" else "1"
    return f"{head} {hexdata[:i]}{digit}{hexdata[i + 1:]}"


def test_record_then_replay(run, scn, tmp_path):
    out = tmp_path / "rec"
    p = run("record", scn("ok", PASS_SCN), scn("mat", MATRIX_SCN), "-o", out)
    assert p.returncode == 0, p.stdout + p.stderr
    names = sorted(f.name for f in out.iterdir())
    for stem in ("ok", "mat_version=1.2_", "mat_version=1.3_"):
        for ext in (".tls", ".pcapng", ".keylog"):
            assert stem + ext in names
    assert "TRAFFIC_SECRET" in (out / "ok.keylog").read_text()
    transcript = (out / "ok.tls").read_text(encoding="utf-8")
    assert transcript.startswith("tlsrig-transcript 1\nid ok\n")
    assert PASS_SCN in transcript

    p = run("replay", *sorted(out.glob("*.tls")))
    assert p.returncode == 0, p.stdout + p.stderr
    assert result_lines(p.stdout) == [f"PASS {f}" for f in sorted(out.glob("*.tls"))]


def test_tampered_transcript_fails_replay(run, scn, tmp_path):
    out = tmp_path / "rec"
    assert run("record", "-o", out, scn("ok", PASS_SCN)).returncode == 0
    path = out / "ok.tls"
    lines = path.read_text(encoding="utf-8").split("\n")
    chunk_lines = [i for i, line in enumerate(lines) if re.match(r"^[CS] \d+ [0-9a-f]+$", line)]
    victim = chunk_lines[1]  # the server's first flight
    lines[victim] = flip_hex_digit(lines[victim])
    path.write_text("\n".join(lines), encoding="utf-8")

    p = run("replay", path)
    assert p.returncode == 1
    (line,) = result_lines(p.stdout)
    assert line.startswith(f"FAIL {path}: ")
    assert "chunk 1" in line


def test_malformed_transcript_exits_2(run, tmp_path):
    path = tmp_path / "junk.tls"
    path.write_text("not a transcript\n")
    p = run("replay", path)
    assert p.returncode == 2
    assert f"{path}:1:" in p.stderr


def test_record_of_failing_scenario_exits_1(run, scn, tmp_path):
    out = tmp_path / "rec"
    p = run("record", "-o", out, scn("wrong", FAIL_SCN))
    assert p.returncode == 1
    assert result_lines(p.stdout)[0].startswith("FAIL wrong: ")
    assert not (out / "wrong.tls").exists()


# ---- usage ----


@pytest.mark.parametrize(
    "args, needle",
    [
        ([], "usage:"),
        (["rn", "x.scn"], "did you mean 'run'"),
        (["help", "rcord"], "did you mean 'record'"),
        (["--jsn"], "did you mean '--json'"),
        (["--json", "x.json", "run"], "a command comes first"),
        (["run", "--x", "x.scn"], "tlsrig: unknown option '--x'"),
        (["run", "--jsn", "out.json", "x.scn"], "did you mean '--json'"),
        (["run", "-tap", "x.scn"], "unknown option '-tap' (did you mean '--tap'?)"),
        (["run", "--tap=1", "x.scn"], "tlsrig: option '--tap' takes no value"),
        (["run", "x.scn", "--json"], "tlsrig: option '--json' needs a value"),
        (["run", "x.scn", "-k"], "tlsrig: option '-k' needs a value"),
        (["run", "--t", "x.scn"], "option '--t' is ambiguous: --tap, --timeout"),
        (["run", "-o", "out", "x.scn"], "option '-o' does not apply to 'run'"),
        (["run"], "no paths given"),
        (["run", "/no/such/file.scn"], "/no/such/file.scn"),
        (["run", "-j", "many", "x.scn"], "-j"),
        (["list", "--tap", "x.scn"], "does not apply"),
        (["record", "x.scn"], "-o OUTDIR"),
    ],
)
def test_bad_usage_exits_2(run, args, needle):
    p = run(*args)
    assert p.returncode == 2
    assert needle in p.stderr
    assert p.stdout == ""


COMMAND_OPTIONS = {
    "run": ["-k SUBSTR", "--jobs N", "--tap", "--junit FILE", "--json FILE", "--pki DIR",
            "--pcap-dir DIR", "--timeout SECS", "--help"],
    "list": ["-k SUBSTR", "--rfc", "--help"],
    "record": ["--output OUTDIR", "--pki DIR", "--timeout SECS", "--help"],
    "replay": ["--pki DIR", "--timeout SECS", "--help"],
}


def test_help_lists_every_command(run):
    p = run("--help")
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert p.stdout.startswith("usage: tlsrig <command>")
    listed = [line.split()[0] for line in p.stdout.splitlines() if line.startswith("  ")]
    assert listed == [*COMMAND_OPTIONS, "help"]
    assert run("help").stdout == p.stdout


@pytest.mark.parametrize("command", sorted(COMMAND_OPTIONS))
def test_command_help_lists_its_options(run, command):
    p = run(command, "--help")
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert p.stdout.startswith(f"usage: tlsrig {command} ")
    for option in COMMAND_OPTIONS[command]:
        assert option in p.stdout, f"{option} missing from {command} --help: {p.stdout!r}"
    others = {o for c, opts in COMMAND_OPTIONS.items() if c != command for o in opts}
    for option in others - set(COMMAND_OPTIONS[command]):
        assert option not in p.stdout, f"{command} --help shows {option}: {p.stdout!r}"
    # The same text whichever way it is asked for, and wherever --help stands.
    assert run("help", command).stdout == p.stdout
    assert run(command, "x.scn", "-h").stdout == p.stdout


@pytest.mark.parametrize(
    "word, nearest", [("rn", "run"), ("lst", "list"), ("recrod", "record"), ("replya", "replay")]
)
def test_unknown_command_suggests_the_nearest(run, word, nearest):
    p = run(word, "x.scn")
    assert p.returncode == 2
    assert f"tlsrig: unknown command '{word}' (did you mean '{nearest}'?)" in p.stderr
    assert p.stdout == ""


def test_option_forms(run, scn, tmp_path):
    """--opt=value and --opt value, -jN and -j N, options before or after the paths."""
    ok = scn("ok", PASS_SCN)
    for args in (
        ["--json", tmp_path / "a.json", "-j", "2", ok],
        [ok, f"--json={tmp_path / 'b.json'}", "-j2"],
        ["--jobs=2", ok, "--json", tmp_path / "c.json"],
    ):
        p = run("run", *args)
        assert p.returncode == 0, (args, p.stderr)
        assert p.stdout == "PASS ok\n1 passed, 0 failed\n"
    for name in ("a", "b", "c"):
        assert json.loads((tmp_path / f"{name}.json").read_text())[0]["id"] == "ok"
    p = run("run", "--", "-k")
    assert p.returncode == 2
    assert "-k: No such file or directory" in p.stderr


def test_folder_walk_natural_order_and_subfolders(run, scn, tmp_path):
    """Folders give their files at any depth, hidden ones left out, in natural order:
    a-2 before a-10."""
    root = tmp_path / "tree"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".hidden").mkdir()
    for rel in ("a-10.scn", "a-2.scn", "sub/deeper/a-3.scn", ".hidden/a-4.scn", ".a-5.scn"):
        (root / rel).write_text(PASS_SCN)
    p = run("list", root)
    assert p.returncode == 0, p.stderr
    assert [line.split()[0] for line in p.stdout.splitlines()] == ["a-2", "a-3", "a-10"]
    p = run("run", root)
    assert result_lines(p.stdout) == ["PASS a-2", "PASS a-3", "PASS a-10"]

    # replay reports transcripts in the order the walk found them.
    rec = tmp_path / "rec"
    assert run("record", "-o", rec, root / "a-2.scn").returncode == 0
    tls = tmp_path / "tls"
    (tls / "sub").mkdir(parents=True)
    for rel in ("t-10.tls", "t-9.tls", "sub/t-1.tls", "sub/notes.txt"):
        shutil.copy(rec / "a-2.tls", tls / rel)
    p = run("replay", tls)
    assert p.returncode == 0, p.stdout + p.stderr
    assert result_lines(p.stdout) == [f"PASS {tls / rel}" for rel in ("sub/t-1.tls", "t-9.tls", "t-10.tls")]


def test_missing_pki_exits_3(run, scn):
    p = run("run", "--pki", "/no/such/pki", scn("ok", PASS_SCN))
    assert p.returncode == 3
    assert "test PKI not found at /no/such/pki" in p.stderr


# ---- isolation ----

# Thousands of full RSA handshakes: seconds of work, in steps that are each short.
SLOW_SCN = (
    "budget 10000000\n"
    + PASS_SCN.split("handshake\n")[0].replace("cert p256", "cert rsa")
    + "connect client server\nhandshake\n" * 4000
)


def children_of(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def test_crashing_scenario_does_not_stop_the_others(tlsrig, scn, tmp_path):
    slow = scn("a-slow", SLOW_SCN)
    ok = scn("b-ok", PASS_SCN)
    proc = subprocess.Popen(
        [tlsrig, "run", "--pcap-dir", tmp_path / "pcap", "--timeout", "60", slow, ok],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        kids = []
        while not kids and time.monotonic() < deadline:
            time.sleep(0.05)
            kids = children_of(proc.pid)
        assert kids, "the runner started no child"
        os.kill(kids[0], signal.SIGSEGV)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, out + err
    lines = result_lines(out)
    # A sanitizer build catches the signal, reports and exits instead.
    assert re.match(
        rf"^ERROR a-slow: (crashed: signal {int(signal.SIGSEGV)} \(Segmentation fault\)$"
        r"|exited with status \d+ without a verdict$)",
        lines[0],
    ), lines
    assert lines[1:] == ["PASS b-ok"]
    assert summary(out) == (1, 0, 0, 1)


def test_crash_in_the_middle_of_a_batch(tlsrig, scn, tmp_path):
    """One worker process runs many scenarios: its death costs only the scenario it was
    running, the verdicts it already sent stand, and a new worker runs the rest."""
    paths = [scn("a-ok", PASS_SCN), scn("b-slow", SLOW_SCN), scn("c-ok", PASS_SCN), scn("d-wrong", FAIL_SCN)]
    proc = subprocess.Popen(
        [tlsrig, "run", "--pcap-dir", tmp_path / "pcap", "--timeout", "60", *paths],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # a-ok's line comes out once it is done, and by then its worker has b-slow.
        first = proc.stdout.readline()
        assert first == "PASS a-ok\n", first
        kids = children_of(proc.pid)
        assert len(kids) == 1, kids
        os.kill(kids[0], signal.SIGSEGV)
        rest, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, first + rest + err
    lines = result_lines(first + rest)
    assert lines[0] == "PASS a-ok"
    assert re.match(
        rf"^ERROR b-slow: (crashed: signal {int(signal.SIGSEGV)} \(Segmentation fault\)$"
        r"|exited with status \d+ without a verdict$)",
        lines[1],
    ), lines
    assert lines[2] == "PASS c-ok"
    assert lines[3].startswith(f"FAIL d-wrong: {paths[3]}:8: ")
    assert f"(capture: {tmp_path / 'pcap' / 'd-wrong.pcapng'})" in lines[3]
    assert summary(first + rest) == (2, 1, 0, 1)


def test_record_is_the_same_batched_or_not(run, scn, tmp_path):
    """A scenario's bytes do not depend on the scenarios its worker ran before it:
    recording with a process per scenario (TLSRIG_BATCH=1) gives the same files."""
    paths = [
        scn("a-mat", MATRIX_SCN),
        scn("b-ok", PASS_SCN),
        scn("c-rsa", PASS_SCN.replace("cert p256", "cert rsa")),
        scn("d-ok", PASS_SCN),
    ]
    batched, single = tmp_path / "batched", tmp_path / "single"
    p = run("record", "-o", batched, *paths)
    assert p.returncode == 0, p.stdout + p.stderr
    p1 = run("record", "-o", single, *paths, env=dict(os.environ, TLSRIG_BATCH="1"))
    assert p1.returncode == 0, p1.stdout + p1.stderr
    assert p1.stdout == p.stdout
    names = sorted(f.name for f in batched.iterdir())
    assert len(names) == 15 and names == sorted(f.name for f in single.iterdir())
    for name in names:
        assert (batched / name).read_bytes() == (single / name).read_bytes(), name


def test_time_limit(run, scn):
    p = run("run", "--timeout", "1", scn("a-slow", SLOW_SCN), scn("b-ok", PASS_SCN))
    assert p.returncode == 1
    lines = result_lines(p.stdout)
    # Either the interpreter's own limit (between steps, naming the line) or the
    # runner's kill stops it; both are failures and the other scenario is unaffected.
    assert re.match(r"^(ERROR a-slow: timed out after 1 s|FAIL a-slow: .*wall-clock limit)", lines[0]), lines
    assert lines[1] == "PASS b-ok"


# ---- the pytest plugin ----


def test_pytest_plugin(tlsrig, tmp_path):
    """Runs pytest on a copy of the plugin with its own scenarios: one item per
    variant, failures carry the runner's message, xfail maps to xfail, and a
    malformed file is a collection error naming file:line."""
    pki = str(Path(os.environ.get("TLSRIG_PKI") or REPO / "pki").resolve())
    conf = tmp_path / "repo" / "conformance"
    (conf / "scenarios" / "sub").mkdir(parents=True)
    shutil.copy(Path(__file__).with_name("conftest.py"), conf / "conftest.py")
    shutil.copy(Path(__file__).with_name("pytest.ini"), conf / "pytest.ini")
    (conf / "scenarios" / "ok.scn").write_text(PASS_SCN)
    (conf / "scenarios" / "sub" / "mat.scn").write_text(MATRIX_SCN)
    (conf / "scenarios" / "wrong.scn").write_text(FAIL_SCN)
    (conf / "scenarios" / "known.scn").write_text(XFAIL_SCN)
    (conf / "scenarios" / "bad.scn").write_text(BAD_SCN)
    junit = tmp_path / "junit.xml"
    env = dict(os.environ, TLSRIG_BIN=tlsrig, TLSRIG_PKI=pki)

    def pytest_run(*args):
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-rA", *args],
            cwd=conf, env=env, capture_output=True, text=True, timeout=300, check=False,
        )

    # As pytest does for any collection error, a malformed file stops the session.
    p = pytest_run("scenarios")
    assert p.returncode == 2, p.stdout + p.stderr
    assert "conformance/scenarios/bad.scn:7: unknown step 'handshak'" in p.stdout

    p = pytest_run("--continue-on-collection-errors", f"--junitxml={junit}", "scenarios")
    out = p.stdout
    assert p.returncode == 1, out + p.stderr
    assert "PASSED scenarios/ok.scn::ok" in out
    assert "PASSED scenarios/sub/mat.scn::mat[version=1.2]" in out
    assert "PASSED scenarios/sub/mat.scn::mat[version=1.3]" in out
    assert "XFAIL scenarios/known.scn::known" in out
    assert "FAILED scenarios/wrong.scn::wrong" in out
    assert "conformance/scenarios/wrong.scn:8:" in out
    assert "ERROR scenarios/bad.scn" in out
    assert "conformance/scenarios/bad.scn:7: unknown step 'handshak'" in out
    root = ET.parse(junit).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "6", "1", "1", "1",
    )


def test_pytest_plugin_without_binary(tmp_path):
    conf = tmp_path / "repo" / "conformance"
    (conf / "scenarios").mkdir(parents=True)
    shutil.copy(Path(__file__).with_name("conftest.py"), conf / "conftest.py")
    shutil.copy(Path(__file__).with_name("pytest.ini"), conf / "pytest.ini")
    (conf / "scenarios" / "ok.scn").write_text(PASS_SCN)
    env = {k: v for k, v in os.environ.items() if k != "TLSRIG_BIN"}
    p = subprocess.run(
        [sys.executable, "-m", "pytest", "scenarios"],
        cwd=conf, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert p.returncode != 0
    assert "run make build/bin/tlsrig" in p.stdout + p.stderr
