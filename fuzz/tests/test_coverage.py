"""test_coverage.py - scripts/fuzz-coverage.sh and scripts/coverage-report.py on the
scenario_parser target (the fastest), run by `make coverage-test`:

- its committed corpus and a one-file corpus: the HTML index is written, summary.txt and
  summary.json agree, the libssl and engine figures are consistent, and the whole corpus
  covers strictly more than one file of it;
- --bin mode over the same corpus gives the same figures as --target mode;
- inputs that crash or hang (fuzz/tests/crashme.c under fuzz/replay_main.c) are listed as
  failed, the others still measured, and the corpus left as it was;
- bad usage exits 2.

Needs $FZ_COV_BUILD/fuzz/cov/scenario_parser (make coverage-build); FZ_COV_BUILD defaults
to build.
"""
import json
import os
import re
import shutil
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("FZ_COV_BUILD", "build")
SCRIPT = os.path.join(REPO, "scripts", "fuzz-coverage.sh")
CORPUS = os.path.join(REPO, "corpus", "scenario_parser")
KINDS = ("lines", "functions", "regions", "branches")


def cov_bin():
    path = os.path.join(REPO, BUILD, "fuzz", "cov", "scenario_parser")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built: run make coverage-build first")
    return path


def run(args, expect=0, timeout=300):
    proc = subprocess.run([SCRIPT] + args, cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == expect, (
        f"fuzz-coverage.sh {' '.join(args)}: expected exit {expect}, got {proc.returncode}\n"
        f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")
    return proc


def load(out):
    with open(os.path.join(out, "summary.json")) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("coverage")
    yield d
    shutil.rmtree(d, ignore_errors=True)  # the HTML alone is >100 MB


@pytest.fixture(scope="module")
def full(work):
    cov_bin()
    out = str(work / "full")
    proc = run(["--target", "scenario_parser", "--build", BUILD, "--corpus", CORPUS,
                "--out", out])
    return out, proc


@pytest.fixture(scope="module")
def one(work):
    first = sorted(f for f in os.listdir(CORPUS) if not f.startswith("."))[0]
    out = str(work / "one")
    run(["--target", "scenario_parser", "--build", BUILD, "--corpus",
         os.path.join(CORPUS, first), "--out", out, "--no-html"])
    return out


def check_area(area, name):
    for k in KINDS:
        s = area[k]
        assert 0 <= s["covered"] <= s["count"], f"{name} {k}: covered {s['covered']} " \
            f"outside 0..count {s['count']}"
        want = round(100.0 * s["covered"] / s["count"], 2) if s["count"] else 0.0
        assert s["percent"] == want, f"{name} {k}: percent {s['percent']}, expected {want}"


def test_html_index(full):
    out, _ = full
    index = os.path.join(out, "html", "index.html")
    assert os.path.isfile(index), f"expected {index}"
    text = open(index, errors="replace").read()
    for name in ("conformance/src/parse.c", "ssl/statem/statem_srvr.c"):
        assert name in text, f"{index} does not list {name}"


def test_summary_consistent(full):
    out, proc = full
    s = load(out)
    n_inputs = len([f for f in os.listdir(CORPUS) if not f.startswith(".")])
    assert s["inputs"] == n_inputs, f"inputs: expected {n_inputs}, got {s['inputs']}"
    assert s["failed_inputs"] == [], f"expected no failed inputs, got {s['failed_inputs']}"
    assert s["openssl_src"], "expected the OpenSSL source root to be found"
    for name in s["areas"]:
        check_area(s[name], name)
    # The OpenSSL cov build is instrumented: libssl has thousands of lines, and the parser
    # target never runs a handshake, so none is covered and no handler is reached.
    assert s["libssl"]["lines"]["count"] > 10000, s["libssl"]["lines"]
    assert s["libssl"]["lines"]["covered"] == 0, s["libssl"]["lines"]
    assert s["handlers"]["total"] > 50, s["handlers"]["total"]
    assert s["handlers"]["reached"] == 0, s["handlers"]["reached"]
    assert all(r["count"] == 0 for r in s["handlers"]["list"])
    assert {r["side"] for r in s["handlers"]["list"]} == {"client", "server", "both"}
    # Engine and interpreter code does run (the parser needs the engine's names).
    assert 0 < s["engine"]["lines"]["covered"] < s["engine"]["lines"]["count"], s["engine"]
    assert s["conformance"]["lines"]["covered"] > 0, s["conformance"]
    # summary.txt (and stdout) carry the same libssl and engine figures.
    text = open(os.path.join(out, "summary.txt")).read()
    assert text == proc.stdout, "summary.txt differs from what was printed"
    for name, label in (("libssl", "libssl (ssl/)"), ("engine", "engine/")):
        line = next((l for l in text.splitlines() if l.startswith(label)), None)
        assert line is not None, f"no {label} row in summary.txt"
        cells = re.findall(r"(\d+)/(\d+) \(([\d.]+)%\)", line)
        assert len(cells) == 4, f"{label} row: expected 4 cells, got {line!r}"
        for k, (cov, cnt, _) in zip(KINDS, cells):
            assert (int(cov), int(cnt)) == (s[name][k]["covered"], s[name][k]["count"]), \
                f"{label} {k}: text {cov}/{cnt}, json {s[name][k]}"
    m = re.search(r"(\d+) of (\d+) handlers reached", text)
    assert m and (int(m.group(1)), int(m.group(2))) == (0, s["handlers"]["total"]), text[:2000]


def test_corpus_covers_more_than_one_file(full, one):
    big, small = load(full[0]), load(one)
    assert small["inputs"] == 1, small["inputs"]
    for name in big["areas"]:
        for k in KINDS:
            assert big[name][k]["count"] == small[name][k]["count"], \
                f"{name} {k}: totals differ between runs of one binary"
            assert big[name][k]["covered"] >= small[name][k]["covered"], \
                f"{name} {k}: the corpus covers {big[name][k]['covered']}, one file " \
                f"{small[name][k]['covered']}"
    for k in ("lines", "regions", "branches"):
        assert big["conformance"][k]["covered"] > small["conformance"][k]["covered"], \
            f"conformance {k}: expected the corpus to cover strictly more than one file " \
            f"({big['conformance'][k]['covered']} vs {small['conformance'][k]['covered']})"
        assert big["all"][k]["covered"] > small["all"][k]["covered"], k


def test_bin_mode_matches_target_mode(full, work):
    out = str(work / "bin")
    run(["--bin", cov_bin(), "--corpus", CORPUS, "--out", out, "--no-html", "--jobs", "2"])
    a, b = load(full[0]), load(out)
    assert b["binaries"][0]["runner"] == "replay", b["binaries"]
    for name in a["areas"]:
        assert a[name] == b[name], f"{name}: --target {a[name]} vs --bin {b[name]}"


def test_failed_inputs_are_listed(work):
    exe = str(work / "crashme")
    cc = subprocess.run(["clang", "-O1", "-g", "-fprofile-instr-generate", "-fcoverage-mapping",
                         "-Iengine/include", "-Iwire/include", "-Ifuzz", "-Iconformance/src",
                         "fuzz/tests/crashme.c", "fuzz/replay_main.c", "-o", exe],
                        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert cc.returncode == 0, f"building crashme failed:\n{cc.stderr}"
    corpus = work / "crashme-corpus"
    corpus.mkdir()
    inputs = {"a-clean": b"a", "b-segv": b"N", "c-clean": b"c", "d-hang": b"T", "e-clean": b"e"}
    for name, data in inputs.items():
        (corpus / name).write_bytes(data)
    out = str(work / "crashme-out")
    proc = run(["--bin", exe, "--corpus", str(corpus), "--out", out, "--no-html",
                "--timeout", "2"])
    s = load(out)
    failed = {os.path.basename(f["path"]): f["reason"] for f in s["failed_inputs"]}
    assert set(failed) == {"b-segv", "d-hang"}, f"expected b-segv and d-hang, got {failed}"
    assert "SIGSEGV" in failed["b-segv"], failed
    assert "time limit" in failed["d-hang"], failed
    assert "FAILED input" in proc.stderr and "FAILED input" in proc.stdout
    assert s["inputs"] == 5
    assert s["fuzz"]["lines"]["covered"] > 0, s["fuzz"]
    for name, data in inputs.items():
        assert (corpus / name).read_bytes() == data, f"{name} was changed"


def test_usage_errors(work):
    cov_bin()
    run(["--target", "scenario_parser", "--build", BUILD, "--corpus",
         str(work / "no-such-dir"), "--out", str(work / "x")], expect=2)
    run(["--bin", "/bin/true", "--corpus", CORPUS, "--out", str(work / "x")], expect=2)
    run(["--bin", cov_bin(), "--corpus", CORPUS], expect=2)
    run(["--corpus", CORPUS, "--out", str(work / "x")], expect=2)
    empty = work / "empty"
    empty.mkdir()
    run(["--bin", cov_bin(), "--corpus", str(empty), "--out", str(work / "x")], expect=2)
