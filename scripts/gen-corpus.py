#!/usr/bin/python3
"""gen-corpus.py - make the committed seed corpus of the fuzz targets (corpus/<target>/).

  server           live:  framed exchanges recorded against the target server itself
                          (`build/fuzz/replay/server --gen-seeds`): they stay valid past the
                          ClientHello, through Finished, data, renegotiation, KeyUpdate, 0-RTT
                   rec:   the client bytes of connection 0 of every suite scenario, recorded
                          by `tlsrig record`, after a prefix that mirrors the scenario's server
                          settings (raw feed, one record at a time). Another server's randoms
                          went into them, so they carry the variety of the suite's ClientHellos
                          rather than whole handshakes.
  client           the same, mirrored: server bytes of connection 0, client settings.
  scenario         a few byte-code programs (fuzz/scenario_gen.h): handshakes, data, shutdown,
                   resumption, 0-RTT, renegotiation, KeyUpdate, PHA, clock moves.
  scenario_parser  the suite's .scn files and recorded transcripts that fit in max_len.
  server_mitm      edit lists (`--gen-seeds`, fuzz/mitm_target.c): TLS 1.3 and 1.2 handshakes
  client_mitm      with no edit, one edit per message type behind encryption, renegotiation,
                   KeyUpdate, post-handshake auth, injected alerts, data and messages. Kept
                   whole (no merge): each is there to start the fuzzer at one message.

Then each target's seeds are minimised with its libFuzzer build (-merge=1) when that build
links an instrumented OpenSSL (coverage inside OpenSSL is what tells seeds apart); otherwise
at most MAX_FILES are kept, the live seeds first. The corpus must stay small (< 5 MB).

usage: scripts/gen-corpus.py [--build DIR] [--no-merge]   (make fuzz-corpus builds what it needs)
"""

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = ["server", "client", "scenario", "scenario_parser", "server_mitm", "client_mitm"]
MITM_TARGETS = ("server_mitm", "client_mitm")
MAX_FILES = 200
MAX_TOTAL = 5 << 20

# Prefix tags (fuzz/harness.h).
VERSION, PROFILE, KEY, VERIFY, ALPN, SNI, OCSP, TICKETS, EARLY, KEX, OPTIONS = range(1, 12)
VERSIONS = {"1.0": 1, "1.1": 2, "1.2": 3, "1.3": 4, "any": 0}
SERVER_KEYS = {"p256": 0, "rsa": 1, "p384": 2, "ed25519": 3}


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def read_transcript(path):
    """Return (source text, [(from_server, conn, bytes)]) of a tlsrig transcript."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0

    def line():
        nonlocal pos
        end = data.index(b"\n", pos)
        s = data[pos:end]
        pos = end + 1
        return s

    if not line().startswith(b"tlsrig-transcript "):
        raise ValueError(f"{path}: not a transcript")
    ident = line().decode("utf-8", "replace")
    line()  # seed
    src_len = int(line().split()[1])
    source = data[pos:pos + src_len].decode("utf-8", "replace")
    pos += src_len + 1
    # a matrix variant: its values are in the id, name[var=value,...]
    m = re.search(r"\[(.*)\]$", ident)
    for pair in m.group(1).split(",") if m else []:
        var, _, value = pair.partition("=")
        source = source.replace("${%s}" % var, value)
    chunks = []
    while True:
        words = line().split()
        if words == [b"end"]:
            break
        chunks.append((words[0] == b"S", int(words[1]), bytes.fromhex(words[2].decode()) if len(words) > 2 else b""))
    return source, chunks


def peers(source):
    """{role: {setting: [words...]}} for the first client and first server peer."""
    out, current = {}, None
    for raw in source.splitlines():
        text = raw.split("#", 1)[0]
        if not text.strip():
            continue
        if not text[0].isspace():
            words = text.split()
            current = None
            if words[0] == "peer" and len(words) >= 3 and words[2] not in out:
                current = out.setdefault(words[2], {})
            continue
        if current is not None:
            words = text.split()
            current.setdefault(words[0], words[1:])
    return out.get("client", {}), out.get("server", {})


def prefix_bytes(tags):
    return b"".join(bytes([t, v]) for t, v in sorted(tags.items())) + b"\x00"


def version_tag(c, s):
    lo = max(VERSIONS.get(c.get("min-version", ["any"])[0], 0), VERSIONS.get(s.get("min-version", ["any"])[0], 0))
    his = [VERSIONS.get(p.get("max-version", ["any"])[0], 0) for p in (c, s)]
    his = [h for h in his if h]
    return lo | (min(his) if his else 0) << 4


def server_prefix(c, s):
    tags = {VERSION: version_tag(c, s)}
    if any("SECLEVEL=0" in " ".join(p.get("ciphers", [])) for p in (c, s)):
        tags[PROFILE] = 1
    cert = s.get("cert", ["rsa"])[0]
    tags[KEY] = SERVER_KEYS.get(cert, 1)
    verify = s.get("verify", ["none"])
    tags[VERIFY] = {"peer": 1, "require": 2}.get(verify[0], 0) | (3 if "post-handshake" in verify else 0)
    if "alpn-select" in s:
        tags[ALPN] = {"first-common": 1, "none": 2, "fail": 3}.get(s["alpn-select"][0], 1)
    if "sni-callback" in s:
        tags[SNI] = {"record": 1, "switch": 2, "fail": 3}.get(s["sni-callback"][0], 1)
    if "ocsp-staple" in s:
        tags[OCSP] = {"response": 1, "none": 2, "fail": 3}.get(s["ocsp-staple"][0], 1)
    if "tickets" in s:
        tags[TICKETS] = {"2": 0, "0": 1, "1": 2, "4": 3}.get(s["tickets"][0], 0)
    options = 0
    if "early-data" in s:
        tags[EARLY] = 1
        options |= 0x20
    if "dh" in s:
        tags[KEX] = 1
    opts = " ".join(s.get("options", []))
    if "NO_TICKET" in opts:
        options |= 0x01
    if "ALLOW_CLIENT_RENEGOTIATION" in opts:
        options |= 0x02
    if "NO_RENEGOTIATION" in opts:
        options |= 0x04
    if options:
        tags[OPTIONS] = options
    return tags


def client_prefix(c, s):
    tags = {VERSION: version_tag(c, s)}
    if any("SECLEVEL=0" in " ".join(p.get("ciphers", [])) for p in (c, s)):
        tags[PROFILE] = 1
    cert = c.get("cert", ["none"])[0]
    tags[KEY] = {"client-p256": 0, "client-rsa": 2}.get(cert, 1)
    if c.get("verify", ["none"])[0] == "none":
        tags[VERIFY] = 1
    if "alpn" in c:
        tags[ALPN] = 1
    if "sni" in c or "hostname" in c:
        tags[SNI] = 1
    if "ocsp" in c:
        tags[OCSP] = 1
    if "dh" in s:
        tags[KEX] = 1
    return tags


def from_transcripts(tls_dir, out):
    """rec-* seeds for server and client from every transcript in |tls_dir|."""
    n = 0
    for name in sorted(os.listdir(tls_dir)):
        if not name.endswith(".tls"):
            continue
        source, chunks = read_transcript(os.path.join(tls_dir, name))
        c, s = peers(source)
        stem = re.sub(r"[^A-Za-z0-9_.=,-]", "_", name[:-4])
        for target, from_server, pre in (("server", False, server_prefix(c, s)),
                                         ("client", True, client_prefix(c, s))):
            payload = b"".join(d for fs, conn, d in chunks if conn == 0 and fs == from_server)
            if payload:
                with open(os.path.join(out[target], f"rec-{stem}"), "wb") as f:
                    f.write(prefix_bytes(pre) + payload)
                n += 1
    return n


# Scenario byte code (fuzz/scenario_gen.h): 3 header bytes, then one step a byte.
SCENARIOS = {
    "basic-tls13": "04 00 00  10 20 31 21 30 e0 e1 e6 70 31 71",
    "basic-tls12-rsa": "05 00 04  10 22 33 23 32 e0 e5 70 31 71",
    "legacy-tls11": "07 00 00  10 20 31 e0 70 71",
    "clientauth-pha": "8c 0d 00  10 60 10 20 31 e8 70 31 71",
    "clientauth-required": "0c 08 00  10 e6 20 31 70 31 71",
    "alpn-ocsp-sni": "74 31 00  10 e4 ef e6 20 31 70 31 71",
    "resume-tls13": "04 00 00  10 90 70 31 71 b0 a0 10 e1 e9 20 31",
    "resume-tls12-expired": "05 00 24  10 90 70 31 71 b0 d8 a0 10 e1 20 31",
    "early-data": "84 40 00  10 90 70 31 71 b0 a0 c0 10 c1 e3 20 31",
    "renegotiate-client": "05 80 04  10 20 31 40 10 e5 21 30 70 31 71",
    "renegotiate-server": "05 00 04  10 41 10 21 30 e5 70 31 71",
    "keyupdate": "04 00 00  10 52 10 53 10 20 31 21 30 e0 70 31 71",
    "big-data": "04 00 00  10 26 35 f3 31 27 36 f0 30 70 31 71",
    "truncation": "04 00 00  10 20 31 80 31 10",
    "quiet-shutdown": "04 00 00  10 82 70 31 a0 b0 10",
    "dhe-hrr": "05 01 0c  10 20 31 70 71",
    "sni-switch": "24 00 10  10 ef 20 31 70 31 71",
    "clock": "04 00 20  10 90 70 31 71 d1 b0 a0 10 e1 d6 20 31",
}


def from_scenarios(out):
    for name, hexes in SCENARIOS.items():
        with open(os.path.join(out, f"prog-{name}"), "wb") as f:
            f.write(bytes.fromhex(hexes.replace(" ", "")))
    return len(SCENARIOS)


def for_parser(tls_dirs, out, max_len=8192):
    n = 0
    for top in [os.path.join(ROOT, "conformance", "scenarios")] + tls_dirs:
        for dirpath, _, files in sorted(os.walk(top)):
            for name in sorted(files):
                if not (name.endswith(".scn") or name.endswith(".tls")):
                    continue
                path = os.path.join(dirpath, name)
                if os.path.getsize(path) <= max_len:
                    shutil.copy(path, os.path.join(out, name))
                    n += 1
    return n


def instrumented(build):
    flags = os.path.join(build, "fuzz", "libfuzzer", "openssl.flags")
    try:
        with open(flags) as f:
            return "system" not in f.read().splitlines()[2]
    except (OSError, IndexError):
        return False


def max_len_of(target):
    try:
        with open(os.path.join(ROOT, "fuzz", f"{target}.options")) as f:
            m = re.search(r"max_len\s*=\s*(\d+)", f.read())
            return int(m.group(1)) if m else None
    except OSError:
        return None


def minimise(build, target, candidates, dest, merge):
    os.makedirs(dest, exist_ok=True)
    for name in os.listdir(dest):
        os.unlink(os.path.join(dest, name))
    binary = os.path.join(build, "fuzz", "libfuzzer", target)
    if merge and os.access(binary, os.X_OK) and instrumented(build):
        cmd = [binary, "-merge=1"]
        ml = max_len_of(target)
        if ml:
            cmd.append(f"-max_len={ml}")
        run(cmd + [dest, candidates], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return "merged by coverage"
    names = sorted(os.listdir(candidates), key=lambda n: (not n.startswith(("live-", "prog-")), n))
    if len(names) > MAX_FILES:
        # a spread over the rest, the same every time
        rest = [n for n in names if not n.startswith(("live-", "prog-"))]
        keep = [n for n in names if n.startswith(("live-", "prog-"))]
        step = max(1, len(rest) // max(1, MAX_FILES - len(keep)))
        names = (keep + rest[::step])[:MAX_FILES]
    for name in names:
        data = open(os.path.join(candidates, name), "rb").read()
        # names from content, as libFuzzer's: renaming a scenario does not churn the corpus
        prefix = name.split("-", 1)[0]
        with open(os.path.join(dest, f"{prefix}-{hashlib.sha1(data).hexdigest()[:16]}"), "wb") as f:
            f.write(data)
    return f"capped at {MAX_FILES} (no libFuzzer build with an instrumented OpenSSL to merge with)"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--no-merge", action="store_true")
    args = ap.parse_args()
    os.chdir(ROOT)
    build = os.path.abspath(args.build)
    tlsrig = os.path.join(build, "bin", "tlsrig")
    replay = {t: os.path.join(build, "fuzz", "replay", t) for t in TARGETS}
    for exe in [tlsrig] + list(replay.values()):
        if not os.access(exe, os.X_OK):
            sys.exit(f"gen-corpus: {exe} is missing (make fuzz-corpus builds it)")

    with tempfile.TemporaryDirectory(prefix="tlsrig-corpus-") as tmp:
        out = {t: os.path.join(tmp, t) for t in TARGETS}
        for d in out.values():
            os.makedirs(d)
        tls_dir = os.path.join(tmp, "transcripts")
        scns = sorted(os.path.join(dp, f) for dp, _, fs in os.walk("conformance/scenarios")
                      for f in fs if f.endswith(".scn"))
        run([tlsrig, "record", "--pki", "pki", "-o", tls_dir] + scns, stdout=subprocess.DEVNULL)
        counts = {
            "rec": from_transcripts(tls_dir, out),
            "scenario": from_scenarios(out["scenario"]),
            "parser": for_parser([os.path.join(ROOT, "conformance", "transcripts")], out["scenario_parser"]),
        }
        for t in ("server", "client"):
            # Recorded with the OpenSSL the fuzzer links when there is one: a live seed is only
            # as deep as its peer's bytes match the randoms this OpenSSL draws.
            lf = os.path.join(build, "fuzz", "libfuzzer", t)
            gen = lf if os.access(lf, os.X_OK) and instrumented(build) else replay[t]
            run([gen, "--gen-seeds", out[t]], stdout=subprocess.DEVNULL)
        for t in MITM_TARGETS:
            run([replay[t], "--gen-seeds", out[t]], stdout=subprocess.DEVNULL)
        total = 0
        for t in TARGETS:
            merge = not args.no_merge and t not in MITM_TARGETS
            how = minimise(build, t, out[t], os.path.join("corpus", t), merge)
            files = os.listdir(os.path.join("corpus", t))
            size = sum(os.path.getsize(os.path.join("corpus", t, f)) for f in files)
            total += size
            print(f"corpus/{t}: {len(os.listdir(out[t]))} candidates, {len(files)} kept ({size >> 10} KiB), {how}")
        print(f"corpus: {total >> 10} KiB in all ({counts['rec']} recorded flights, "
              f"{counts['scenario']} programs, {counts['parser']} parser files)")
        if total > MAX_TOTAL:
            sys.exit(f"gen-corpus: the corpus is {total >> 20} MiB, over the {MAX_TOTAL >> 20} MiB budget")


if __name__ == "__main__":
    main()
