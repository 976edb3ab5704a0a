#!/usr/bin/python3
"""coverage-report.py - summarise an llvm-cov profile of coverage-instrumented binaries:
line, function, region and branch coverage per area (libssl, libcrypto, OpenSSL's providers,
engine/, conformance/src/, fuzz/), and a table of the ssl/statem message handlers.
scripts/fuzz-coverage.sh runs the inputs and merges the profile, then calls this.

    scripts/coverage-report.py --profile P.profdata --object BIN [--object BIN2 ...]
                               --out DIR [--llvm-cov llvm-cov-14] [--run-info FILE]
                               [--title TEXT]

Writes DIR/summary.txt (also printed), DIR/summary.json and DIR/handlers.txt, and keeps the
per-file export it read in DIR/export-summary.json.

summary.json: {"title", "binaries", "corpora", "inputs", "failed_inputs", "profile",
"openssl_src", "areas": [names], "<area>": {"lines"|"functions"|"regions"|"branches":
{"covered", "count", "percent"}}, ..., "handlers": {"reached", "total", "by_side", "list"}}.

Areas are read from `llvm-cov export -summary-only` per file. OpenSSL's sources are found by
their coverage paths: the cov build maps its object directory to the install prefix, so a path
reads PREFIX/../../src/openssl-VERSION/ssl/...; paths are normalised before they are sorted
into areas. When several binaries were built against different prefixes of the same source
(ours and OpenSSL's own fuzzers), one file shows up once per prefix; each copy reads the same
merged counters, so a file is counted once (the copy with the most lines covered).

A handler is a function defined in ssl/statem/*.c named tls_process_*, tls_construct_*,
dtls_process_*, dtls_construct_* or ossl_statem_server_* / ossl_statem_client_* (the
dispatchers). Its side is the file's: statem_clnt.c and extensions_clnt.c client,
statem_srvr.c and extensions_srvr.c server, the rest (statem_lib.c, statem.c, statem_dtls.c,
extensions.c, extensions_cust.c) both. Its line coverage is computed as llvm-cov computes a
function's (a line counts when a region starts on it or one spans it; covered when the
largest count among them is non-zero).

Binaries linked against an uninstrumented OpenSSL have no ssl/ sources in their coverage:
then the OpenSSL areas and the handler table are empty (a note says so on stderr).

Exit status: 0 written, 1 llvm-cov failed or wrote no usable export, 2 bad usage or a
missing profile or binary, 3 llvm-cov not found.
"""
import argparse
import bisect
import json
import os
import re
import shutil
import subprocess
import sys

KINDS = ("lines", "functions", "regions", "branches")
HANDLER_RE = re.compile(r"^(?:d?tls_(?:process|construct)_\w+|ossl_statem_(?:server|client)_\w+)$")
SIDES = {
    "statem_clnt.c": "client",
    "extensions_clnt.c": "client",
    "statem_srvr.c": "server",
    "extensions_srvr.c": "server",
}
PROG = "coverage-report"


class Fail(Exception):
    """An error with the exit status it maps to."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def norm(path):
    return os.path.normpath(path)


def ratio(covered, count):
    return round(100.0 * covered / count, 2) if count else 0.0


def empty_area():
    return {k: {"covered": 0, "count": 0, "percent": 0.0} for k in KINDS}


def run_llvm_cov(llvm_cov, args, out_path):
    """Run llvm-cov with args, stdout to out_path; stderr kept for the error message."""
    with open(out_path, "w") as out:
        proc = subprocess.run([llvm_cov] + args, stdout=out, stderr=subprocess.PIPE, text=True,
                              timeout=1800)
    if proc.returncode != 0:
        raise Fail(1, f"{llvm_cov} {args[0]} failed with status {proc.returncode}: "
                      f"{proc.stderr.strip()[-2000:]}")
    with open(out_path) as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise Fail(1, f"{out_path}: llvm-cov wrote no valid JSON ({e})")
    if not data.get("data"):
        raise Fail(1, f"{out_path}: llvm-cov export has no data")
    return data["data"][0]


def openssl_roots(filenames):
    """Normalised OpenSSL source roots (ending in '/'), found by ssl/statem/statem_lib.c."""
    roots = set()
    for name in filenames:
        n = norm(name)
        if n.endswith("/ssl/statem/statem_lib.c"):
            roots.add(n[: -len("ssl/statem/statem_lib.c")])
    return sorted(roots)


def area_of(path, roots, repo):
    for root in roots:
        if path.startswith(root):
            rel = path[len(root):]
            for prefix, area in (("ssl/", "libssl"), ("crypto/", "libcrypto"),
                                 ("providers/", "providers")):
                if rel.startswith(prefix):
                    return area
            return None
    if path.startswith(repo):
        rel = path[len(repo):]
        for prefix, area in (("engine/", "engine"), ("conformance/src/", "conformance"),
                             ("fuzz/", "fuzz")):
            if rel.startswith(prefix):
                return area
    return None


def dedup_files(files):
    """One entry per normalised path: the copy with the most covered lines."""
    best = {}
    dups = 0
    for f in files:
        n = norm(f["filename"])
        if n in best:
            dups += 1
            if f["summary"]["lines"]["covered"] <= best[n]["summary"]["lines"]["covered"]:
                continue
        best[n] = f
    return best, dups


def summarise_areas(files, roots, repo):
    areas = {a: empty_area() for a in AREAS}
    for path, f in files.items():
        a = area_of(path, roots, repo)
        targets = [a, "all"] if a else ["all"]
        for k in KINDS:
            s = f["summary"].get(k, {"covered": 0, "count": 0})
            for t in targets:
                areas[t][k]["covered"] += s["covered"]
                areas[t][k]["count"] += s["count"]
    for a in areas.values():
        for k in KINDS:
            a[k]["percent"] = ratio(a[k]["covered"], a[k]["count"])
    return areas


AREAS = ("libssl", "libcrypto", "providers", "engine", "conformance", "fuzz", "all")
AREA_LABELS = {
    "libssl": "libssl (ssl/)",
    "libcrypto": "libcrypto (crypto/)",
    "providers": "providers/",
    "engine": "engine/",
    "conformance": "conformance/src/",
    "fuzz": "fuzz/",
    "all": "all files",
}


class LineStats:
    """Per-line execution counts of one file from its llvm-cov segments, as llvm-cov's
    LineCoverageStats computes them: a segment is [line, col, count, has_count,
    is_region_entry, is_gap_region]."""

    def __init__(self, segments):
        self.segs = sorted(segments, key=lambda s: (s[0], s[1]))
        self.lines = [s[0] for s in self.segs]

    def line(self, n):
        """(mapped, count) of line n."""
        lo = bisect.bisect_left(self.lines, n)
        hi = bisect.bisect_right(self.lines, n)
        on_line = self.segs[lo:hi]
        wrapped = self.segs[lo - 1] if lo > 0 else None
        starts = [s for s in on_line if s[3] and s[4] and not s[5]]
        skipped_start = bool(on_line) and not on_line[0][3] and on_line[0][4]
        mapped = not skipped_start and ((wrapped is not None and wrapped[3]) or bool(starts))
        if not mapped:
            return False, 0
        count = wrapped[2] if wrapped is not None else 0
        for s in starts:
            count = max(count, s[2])
        return True, count

    def range(self, first, last):
        """(instrumented, covered) lines in [first, last]."""
        total = covered = 0
        for n in range(first, last + 1):
            mapped, count = self.line(n)
            if mapped:
                total += 1
                covered += count > 0
        return total, covered


def handler_table(export, roots):
    """Rows for the statem handlers from a full export restricted to ssl/statem/*.c."""
    stats = {}
    for f in export["files"]:
        stats.setdefault(norm(f["filename"]), []).append(LineStats(f["segments"]))
    statem_dirs = tuple(root + "ssl/statem/" for root in roots)
    rows = {}
    for fn in export["functions"]:
        if not fn["filenames"]:
            continue
        path = norm(fn["filenames"][0])
        if not path.startswith(statem_dirs) or not path.endswith(".c"):
            continue
        name = fn["name"].rsplit(":", 1)[-1]
        if not HANDLER_RE.match(name):
            continue
        own = [r for r in fn["regions"] if r[5] == 0]
        if not own:
            continue
        first = min(r[0] for r in own)
        last = max(r[2] for r in own)
        total = covered = 0
        for ls in stats.get(path, []):
            t, c = ls.range(first, last)
            if (c, t) > (covered, total):
                total, covered = t, c
        base = os.path.basename(path)
        key = (base, name)
        row = {
            "handler": name,
            "side": SIDES.get(base, "both"),
            "file": base,
            "line": first,
            "count": fn["count"],
            "lines_covered": covered,
            "lines_total": total,
            "line_percent": ratio(covered, total),
        }
        # The same function from several binaries (one prefix each): keep the best copy.
        old = rows.get(key)
        if old is None or (row["count"], row["lines_covered"]) > (old["count"],
                                                                  old["lines_covered"]):
            rows[key] = row
    order = {"client": 0, "server": 1, "both": 2}
    return sorted(rows.values(), key=lambda r: (order[r["side"]], r["file"], r["line"]))


def read_run_info(path):
    info = {"binaries": [], "corpora": [], "failed_inputs": [], "inputs": 0}
    if path is None:
        return info
    try:
        with open(path) as f:
            for raw in f:
                parts = raw.rstrip("\n").split("\t")
                if parts[0] == "bin" and len(parts) == 3:
                    info["binaries"].append({"path": parts[1], "runner": parts[2]})
                elif parts[0] == "corpus" and len(parts) == 4:
                    info["corpora"].append({"binary": int(parts[1]), "path": parts[2],
                                            "inputs": int(parts[3])})
                elif parts[0] == "failed" and len(parts) == 4:
                    info["failed_inputs"].append({"binary": int(parts[1]), "path": parts[2],
                                                  "reason": parts[3]})
                elif parts[0] == "inputs" and len(parts) == 2:
                    info["inputs"] = int(parts[1])
    except (OSError, ValueError) as e:
        raise Fail(2, f"cannot read the run information {path}: {e}")
    return info


def fmt_cell(s):
    return f"{s['covered']}/{s['count']} ({s['percent']:.2f}%)" if s["count"] else "-"


def render(summary, rows):
    out = []
    info = summary
    out.append(f"coverage: {summary['title']}")
    for i, b in enumerate(info["binaries"]):
        corp = [c for c in info["corpora"] if c["binary"] == i]
        where = ", ".join(f"{c['path']} ({c['inputs']})" for c in corp) or "no corpus"
        out.append(f"  {b['path']} [{b['runner']}]: {where}")
    if info["binaries"]:
        out.append(f"  {info['inputs']} inputs run, {len(info['failed_inputs'])} failed"
                   + (" (listed below)" if info["failed_inputs"] else ""))
    if any(b["runner"] == "replay" for b in info["binaries"]):
        out.append("  (replay runs every input twice: execution counts are doubled)")
    out.append(f"  profile {summary['profile']}")
    if summary["openssl_src"]:
        out.append(f"  OpenSSL sources {', '.join(summary['openssl_src'])}")
    if summary["duplicate_files"]:
        out.append(f"  {summary['duplicate_files']} source files came from more than one"
                   " build; each is counted once")
    out.append("")
    head = f"{'area':22} " + " ".join(f"{k:>25}" for k in KINDS)
    out.append(head)
    for a in AREAS:
        out.append(f"{AREA_LABELS[a]:22} " + " ".join(f"{fmt_cell(summary[a][k]):>25}"
                                                       for k in KINDS))
    out.append("")
    out.append(handler_text(summary["handlers"], rows))
    for f in info["failed_inputs"]:
        out.append(f"FAILED input {f['path']}: {f['reason']} (not in the profile)")
    return "\n".join(out) + "\n"


def handler_text(h, rows):
    out = [f"ssl/statem message handlers: {h['reached']} of {h['total']} handlers reached"
           + "".join(f"; {s} {v['reached']}/{v['total']}" for s, v in h["by_side"].items())]
    if not rows:
        return out[0]
    out.append(f"  {'handler':46} {'side':6} {'file':18} {'count':>10} {'lines':>11} "
               f"{'line %':>7}")
    for r in rows:
        mark = "   UNREACHED" if r["count"] == 0 else ""
        out.append(f"  {r['handler']:46} {r['side']:6} {r['file']:18} {r['count']:>10} "
                   f"{r['lines_covered']:>5}/{r['lines_total']:<5} {r['line_percent']:>6.1f}%"
                   f"{mark}")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    ap.add_argument("--profile", required=True)
    ap.add_argument("--object", action="append", required=True, dest="objects")
    ap.add_argument("--out", required=True)
    ap.add_argument("--llvm-cov", default=os.environ.get("LLVM_COV", "llvm-cov-14"))
    ap.add_argument("--run-info")
    ap.add_argument("--title", default="")
    ap.add_argument("--repo", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    args = ap.parse_args()

    llvm_cov = shutil.which(args.llvm_cov)
    if llvm_cov is None:
        raise Fail(3, f"{args.llvm_cov} not found (package llvm-14)")
    for p in [args.profile] + args.objects:
        if not os.path.isfile(p):
            raise Fail(2, f"{p}: no such file")
    os.makedirs(args.out, exist_ok=True)
    repo = norm(os.path.abspath(args.repo)) + "/"
    objects = [args.objects[0]] + [x for o in args.objects[1:] for x in ("-object", o)]
    common = ["-format=text", f"-instr-profile={args.profile}"]

    summ = run_llvm_cov(llvm_cov, ["export", "-summary-only"] + common + objects,
                        os.path.join(args.out, "export-summary.json"))
    files, dups = dedup_files(summ["files"])
    roots = openssl_roots(files.keys())
    areas = summarise_areas(files, roots, repo)

    rows = []
    if roots:
        statem = sorted(p for p in files
                        if any(p.startswith(r + "ssl/statem/") for r in roots)
                        and p.endswith(".c"))
        # -path-equivalence=R,R makes llvm-cov compare the source arguments with normalised
        # coverage paths (they are PREFIX/../../src/... as recorded).
        equiv = [f"-path-equivalence={r.rstrip('/')},{r.rstrip('/')}" for r in roots]
        # The full export lists every function of every binary (~80 MB for one target):
        # read, then dropped.
        full_path = os.path.join(args.out, ".export-statem.json")
        try:
            full = run_llvm_cov(llvm_cov, ["export", "-skip-expansions"] + common + equiv[:1]
                                + objects + statem, full_path)
            rows = handler_table(full, roots)
            del full
        finally:
            if os.path.exists(full_path):
                os.remove(full_path)

    info = read_run_info(args.run_info)
    by_side = {}
    for side in ("client", "server", "both"):
        sel = [r for r in rows if r["side"] == side]
        by_side[side] = {"reached": sum(r["count"] > 0 for r in sel), "total": len(sel)}
    summary = {
        "title": args.title or ", ".join(args.objects),
        "binaries": info["binaries"] or [{"path": o, "runner": "?"} for o in args.objects],
        "corpora": info["corpora"],
        "inputs": info["inputs"],
        "failed_inputs": info["failed_inputs"],
        "profile": args.profile,
        "openssl_src": roots,
        "duplicate_files": dups,
        "areas": list(AREAS),
    }
    summary.update(areas)
    summary["handlers"] = {
        "reached": sum(r["count"] > 0 for r in rows),
        "total": len(rows),
        "by_side": by_side,
        "list": rows,
    }
    text = render(summary, rows)
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    with open(os.path.join(args.out, "summary.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(args.out, "handlers.txt"), "w") as f:
        f.write(handler_text(summary["handlers"], rows) + "\n")
    sys.stdout.write(text)
    if not roots:
        print(f"{PROG}: note: no OpenSSL ssl/ sources in the coverage data (binaries linked "
              "against an uninstrumented OpenSSL?): libssl and the handler table are empty",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Fail as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        sys.exit(e.status)
    except subprocess.TimeoutExpired as e:
        print(f"{PROG}: error: {e.cmd[0]} did not finish in {e.timeout} s", file=sys.stderr)
        sys.exit(1)
