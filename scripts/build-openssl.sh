#!/usr/bin/env bash
# build-openssl.sh - build a static, instrumented libssl/libcrypto with clang for fuzzing.
#
# The system OpenSSL (libssl-dev) is not instrumented, so coverage-guided fuzzers see nothing
# inside it and sanitizers miss its bugs. This script builds OpenSSL from Debian's source
# package (Debian's patched code, the nearest the archive serves to the libssl the rest of the
# rig links) or from a source tree
# the caller names, with the instrumentation of one FLAVOR, and caches the result outside the
# work tree so every fuzz target, benchmark and colleague reuses the same build.
#
# The last line of stdout is the install prefix; everything else goes to stderr, so
#     prefix=$(scripts/build-openssl.sh fuzz | tail -n1)
# works. A second run with the same inputs only prints the prefix.
#
# Cache layout (root: ${TLSRIG_CACHE:-$HOME/.cache/tlsrig}; <name> = <version>-<flavor>-<hash>):
#     src/openssl-<debian version>/   extracted, patched Debian source (never modified)
#     openssl/<name>/                 include/, lib/libssl.a, lib/libcrypto.a, lib/pkgconfig/,
#                                     bin/openssl-fuzz-{server,client} (--with-openssl-fuzzers),
#                                     build.log, inputs (what <hash> covers), .complete
#     openssl/.build-<name>/          object dir while building; removed afterwards
#     openssl/.stage-<name>/          install staging while building; removed afterwards
#     openssl/.<name>.lock            serialises concurrent builds of one prefix
#     logs/<name>.log                 log of the last failed build of <name>
# <hash> covers everything that changes the output: configure arguments, compiler flags,
# compiler (and afl++) version, the exact source, and SCRIPT_VERSION below.
#
# Exit status: 0 ok, 1 fetch or build failed, 2 bad usage, 3 a required tool is missing and
# cannot be installed.
set -euo pipefail

# The whole script is one braced block, which bash reads in full before running any of it, so
# editing this file while a long build runs cannot change what the running instance executes.
{

# Bump when the build recipe changes in a way the hashed inputs below do not capture, so stale
# caches are not reused.
SCRIPT_VERSION=1

prog=build-openssl.sh

# set -e stops silently; say where.
trap 'echo "$prog: error: unexpected failure at line $LINENO" >&2' ERR

# Keep stdout for the final prefix line only; all progress, apt and make output goes to stderr.
exec 3>&1 1>&2

usage() {
    cat <<EOF
usage: $prog FLAVOR [--src DIR] [--with-openssl-fuzzers]

Build a static libssl.a/libcrypto.a (OpenSSL 3.x) with clang and print the install prefix
as the last line of stdout.

FLAVOR
  fuzz    ASan + UBSan + libFuzzer coverage (-fsanitize=fuzzer-no-link), -O1 -g
  afl     afl-clang-fast (afl++) instrumentation, -O2 -g
  cov     -fprofile-instr-generate -fcoverage-mapping -O1 -g, no sanitizers (for llvm-cov)
  plain   clang -O2 -g, no instrumentation

Options
  --src DIR                 build this OpenSSL 3.x source tree (unconfigured) instead of
                            Debian's source package
  --with-openssl-fuzzers    also build OpenSSL's own fuzz/server and fuzz/client, installed as
                            PREFIX/bin/openssl-fuzz-server and PREFIX/bin/openssl-fuzz-client
                            (libFuzzer binaries; afl++ persistent-mode binaries for afl)
  -h, --help                show this help

Environment
  TLSRIG_CACHE              cache root (default \$HOME/.cache/tlsrig)
  TLSRIG_CLANG              clang to use for fuzz/cov/plain (default clang)
  TLSRIG_OPENSSL_DEBVER     build this Debian source version instead of the newest available

Exit status: 0 ok, 1 fetch/build failed, 2 bad usage, 3 required tool missing.
EOF
}

say() { echo "$prog: $*"; }
die() {
    echo "$prog: error: $*"
    exit 1
}
die_usage() {
    echo "$prog: $*"
    usage
    exit 2
}
die_tool() {
    echo "$prog: error: $*"
    exit 3
}

# ---- arguments ---------------------------------------------------------------------------
flavor=""
src_dir=""
with_fuzzers=0
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help)
        usage >&3
        exit 0
        ;;
    --src)
        [ $# -ge 2 ] || die_usage "--src needs a directory"
        src_dir=$2
        shift 2
        ;;
    --src=*)
        src_dir=${1#--src=}
        shift
        ;;
    --with-openssl-fuzzers)
        with_fuzzers=1
        shift
        ;;
    -*) die_usage "unknown option: $1" ;;
    *)
        [ -z "$flavor" ] || die_usage "more than one FLAVOR given: $flavor $1"
        flavor=$1
        shift
        ;;
    esac
done
case $flavor in
fuzz | afl | cov | plain) ;;
"") die_usage "missing FLAVOR" ;;
*) die_usage "unknown FLAVOR: $flavor" ;;
esac
if [ -n "$src_dir" ]; then
    [ -d "$src_dir" ] || die_usage "--src: not a directory: $src_dir"
    src_dir=$(cd "$src_dir" && pwd -P)
    if [ ! -f "$src_dir/Configure" ] || [ ! -f "$src_dir/VERSION.dat" ]; then
        die_usage "--src: $src_dir is not an OpenSSL 3.x source tree (no Configure/VERSION.dat)"
    fi
    # The build runs out of tree; an in-tree configuration would shadow the generated headers.
    [ ! -e "$src_dir/configdata.pm" ] ||
        die_usage "--src: $src_dir has been configured in place; run 'make distclean' there first"
fi

cache=${TLSRIG_CACHE:-$HOME/.cache/tlsrig}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd -P)
arch=$(uname -m)
jobs=$(nproc)

# ---- package installation (only what is missing) ----------------------------------------
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
fi
can_admin() { [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ]; }

# Other sessions on the same machine may hold the dpkg lock; wait for it instead of failing.
APT_OPTS=(-q -o DPkg::Lock::Timeout=600)
apt_updated=0
apt_update() {
    [ "$apt_updated" -eq 0 ] || return 0
    can_admin || die_tool "need root or sudo to run apt-get update"
    say "running apt-get update"
    # A failing third-party source must not stop us if Debian's own indexes were refreshed.
    $SUDO apt-get "${APT_OPTS[@]}" update || say "warning: apt-get update reported errors"
    apt_updated=1
}
# apt_install REASON PKG... - install the packages, or exit 3 saying what could not be had.
apt_install() {
    local reason=$1
    shift
    can_admin ||
        die_tool "need $* ($reason); not root and no sudo: run apt-get install $* as root"
    apt_update
    say "installing $* ($reason)"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" install -y \
        --no-install-recommends "$@" ||
        die_tool "could not install $* ($reason)"
}

# The C compiler. afl-clang-fast wraps the clang afl++ was built against, so the afl flavor
# takes its compiler from the afl++ package rather than from TLSRIG_CLANG.
clang_cmd=${TLSRIG_CLANG:-clang}
base_pkgs=()
if [ "$flavor" = afl ]; then
    command -v afl-clang-fast >/dev/null 2>&1 || base_pkgs+=(afl++)
else
    command -v "$clang_cmd" >/dev/null 2>&1 || base_pkgs+=("$(basename "$clang_cmd")")
fi
[ ${#base_pkgs[@]} -eq 0 ] || apt_install "to build OpenSSL with flavor $flavor" "${base_pkgs[@]}"
if [ "$flavor" = afl ]; then
    command -v afl-clang-fast >/dev/null 2>&1 || die_tool "afl-clang-fast is not available"
    # The wrapper's clang decides which compiler-rt and clang++ match it.
    clang_cmd=clang
fi
command -v "$clang_cmd" >/dev/null 2>&1 || die_tool "$clang_cmd is not available"

clang_version_line=$("$clang_cmd" --version | head -n1)
clang_full=$("$clang_cmd" -dumpversion)
clang_major=${clang_full%%.*}
rt_dir=$("$clang_cmd" --print-runtime-dir)
# clang++ of the same version links the C++ runtime libFuzzer needs.
if command -v "clang++-$clang_major" >/dev/null 2>&1; then
    clangxx_cmd=clang++-$clang_major
else
    clangxx_cmd=$(dirname "$(readlink -f "$(command -v "$clang_cmd")")")/clang++
fi
# rt_lib NAME - path of a compiler-rt archive for this arch in either runtime-dir layout.
rt_lib() {
    if [ -f "$rt_dir/libclang_rt.$1-$arch.a" ]; then
        echo "$rt_dir/libclang_rt.$1-$arch.a"
    else
        echo "$rt_dir/libclang_rt.$1.a"
    fi
}

# Runtimes are not needed to compile the static libraries, but every consumer of the flavor
# links them, so a usable prefix implies they are present.
rt_needed=()
case $flavor in
fuzz) rt_needed+=(asan ubsan_standalone fuzzer) ;;
cov) rt_needed+=(profile) ;;
esac
if [ "$with_fuzzers" -eq 1 ] && [ "$flavor" != afl ]; then
    rt_needed+=(fuzzer)
fi
extra_pkgs=()
for rt in "${rt_needed[@]}"; do
    if [ ! -f "$(rt_lib "$rt")" ]; then
        extra_pkgs+=("libclang-rt-$clang_major-dev")
        break
    fi
done
if [ "$flavor" = cov ] && ! command -v "llvm-cov-$clang_major" >/dev/null 2>&1 &&
    ! command -v llvm-cov >/dev/null 2>&1; then
    extra_pkgs+=(llvm)
fi
if [ "$with_fuzzers" -eq 1 ] && [ "$flavor" != afl ] &&
    ! command -v "$clangxx_cmd" >/dev/null 2>&1; then
    extra_pkgs+=("clang-$clang_major")
fi
[ ${#extra_pkgs[@]} -eq 0 ] || apt_install "runtime/tools for flavor $flavor" "${extra_pkgs[@]}"
for rt in "${rt_needed[@]}"; do
    [ -f "$(rt_lib "$rt")" ] ||
        die_tool "clang runtime $(rt_lib "$rt") is missing (libclang-rt-$clang_major-dev)"
done
if [ "$flavor" = cov ]; then
    command -v "llvm-cov-$clang_major" >/dev/null 2>&1 || command -v llvm-cov >/dev/null 2>&1 ||
        die_tool "llvm-cov is not available (package llvm)"
fi
if [ "$with_fuzzers" -eq 1 ] && [ "$flavor" != afl ]; then
    command -v "$clangxx_cmd" >/dev/null 2>&1 || die_tool "$clangxx_cmd is not available"
fi

# ---- Debian source package ---------------------------------------------------------------
src_cache=$cache/src

# deb_src_stanzas HAVE - deb822 deb-src stanzas mirroring the Debian archive's 'deb' entries,
# one per URI and suite, leaving out the "URI SUITE" pairs listed in HAVE (already configured:
# apt warns about targets configured twice). Reads the stock deb822 file when present, else
# the one-line sources.list. Only these files are used: other repositories may publish no
# sources and are not Debian's code.
deb_src_stanzas() {
    local d822=/etc/apt/sources.list.d/debian.sources
    # Shared by both formats: emit() prints a stanza unless its pair is already configured.
    local emit='
        function norm(u) { sub(/\/+$/, "", u); return u }
        function load_have(   n, i, l, f) {
            n = split(ENVIRON["HAVE"], l, "\n")
            for (i = 1; i <= n; i++) if (split(l[i], f, " ") == 2) have[norm(f[1]) " " f[2]] = 1
        }
        function emit(uri, suite, rest) {
            if ((norm(uri) " " suite) in have) return
            printf "%sTypes: deb-src\nURIs: %s\nSuites: %s\n%s", sep, uri, suite, rest
            sep = "\n"
        }'
    if [ -f "$d822" ]; then
        # Other fields are copied verbatim (continuation lines included, so an inline
        # Signed-By key survives); Types, URIs and Suites are rewritten.
        HAVE=$1 awk "$emit"'
            function flush(   nu, ns, i, j, u, su) {
                if (is_deb && enabled) {
                    nu = split(uris, u, /[ \t]+/); ns = split(suites, su, /[ \t]+/)
                    for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++)
                        if (u[i] != "" && su[j] != "") emit(u[i], su[j], body)
                }
                body = ""; uris = ""; suites = ""; types = ""; is_deb = 0; enabled = 1; field = ""
            }
            BEGIN { load_have(); enabled = 1 }
            /^[ \t]*$/ { flush(); next }
            /^#/ { next }
            /^[ \t]/ {
                if (field == "uris") uris = uris " " $0
                else if (field == "suites") suites = suites " " $0
                else if (field != "types") body = body $0 "\n"
                next
            }
            {
                field = tolower($0); sub(/:.*/, "", field)
                value = $0; sub(/^[^:]*:[ \t]*/, "", value)
                if (field == "types") {
                    n = split(value, t, /[ \t]+/)
                    for (i = 1; i <= n; i++) if (t[i] == "deb") is_deb = 1
                } else if (field == "uris") uris = value
                else if (field == "suites") suites = value
                else {
                    if (field == "enabled" && tolower(value) == "no") enabled = 0
                    body = body $0 "\n"
                }
            }
            END { flush() }
        ' "$d822"
    elif [ -f /etc/apt/sources.list ]; then
        HAVE=$1 awk "$emit"'
            BEGIN { load_have() }
            /^[ \t]*deb[ \t]/ {
                i = 2; signed = ""
                if ($2 ~ /^\[/) {
                    opts = ""
                    for (; i <= NF; i++) { opts = opts " " $i; if ($i ~ /\]$/) { i++; break } }
                    if (match(opts, /signed-by=[^] \t]+/))
                        signed = substr(opts, RSTART + 10, RLENGTH - 10)
                }
                comps = ""
                for (j = i + 2; j <= NF; j++) comps = comps (comps == "" ? "" : " ") $j
                rest = (comps != "" ? "Components: " comps "\n" : "") \
                       (signed != "" ? "Signed-By: " signed "\n" : "")
                emit($i, $(i + 1), rest)
            }
        ' /etc/apt/sources.list
    fi
}

# ensure_deb_src - make apt know openssl's source package: add deb-src entries mirroring the
# existing deb entries (a fresh Debian install has none), then refresh the indexes once.
ensure_deb_src() {
    local file=/etc/apt/sources.list.d/tlsrig-src.sources have stanzas
    if [ ! -e "$file" ]; then
        # shellcheck disable=SC2016 # apt's own $(...) format placeholders
        have=$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' \
            'Identifier: Sources' 2>/dev/null || true)
        stanzas=$(deb_src_stanzas "$have")
        if [ -n "$stanzas" ]; then
            can_admin ||
                die_tool "apt lacks deb-src entries; adding them needs root or sudo; use --src DIR"
            say "adding $file (deb-src entries mirroring the existing deb entries)"
            {
                echo "# Source indexes for the Debian archive, so that build-openssl.sh can fetch"
                echo "# openssl's source package. Mirrors the deb entries of the system's sources."
                echo
                echo "$stanzas"
            } | $SUDO tee "$file.tmp" >/dev/null
            $SUDO mv "$file.tmp" "$file"
        elif [ -z "$have" ]; then
            die_tool "no Debian 'deb' entries in /etc/apt to derive deb-src from; use --src DIR"
        fi
    fi
    apt_update
}

# source_versions - Debian versions of the openssl source package apt knows, newest first.
source_versions() {
    local v sorted=() i inserted
    while read -r v; do
        [ -n "$v" ] || continue
        inserted=0
        for i in "${!sorted[@]}"; do
            if dpkg --compare-versions "$v" gt "${sorted[$i]}"; then
                sorted=("${sorted[@]:0:$i}" "$v" "${sorted[@]:$i}")
                inserted=1
                break
            elif [ "$v" = "${sorted[$i]}" ]; then
                inserted=1
                break
            fi
        done
        [ "$inserted" -eq 1 ] || sorted+=("$v")
    done < <(apt-cache showsrc --only-source openssl 2>/dev/null | sed -n 's/^Version: *//p')
    [ ${#sorted[@]} -eq 0 ] || printf '%s\n' "${sorted[@]}"
}

# fetch_source VERSION - download and extract that version into $src_cache (atomically).
# Returns non-zero when the archive does not serve it (mirrors can lag their indexes).
fetch_source() {
    local v=$1 dest=$src_cache/openssl-$1 dl tmpx rc=0
    if ! command -v dpkg-source >/dev/null 2>&1; then
        apt_install "to unpack Debian source packages" dpkg-dev
        command -v dpkg-source >/dev/null 2>&1 ||
            die_tool "dpkg-source is missing (package dpkg-dev)"
    fi
    dl=$(mktemp -d "${TMPDIR:-/tmp}/tlsrig-openssl-src.XXXXXX")
    # apt downloads as the unprivileged _apt user when run as root; give it a place it can write.
    if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
        chown _apt "$dl"
    fi
    say "fetching Debian source openssl $v"
    (cd "$dl" && apt-get -q source --download-only "openssl=$v") || rc=$?
    if [ "$rc" -eq 0 ]; then
        tmpx=$src_cache/.openssl-$v.tmp.$$
        rm -rf "$tmpx"
        # dpkg-source may warn that it cannot check the .dsc signature (no debian-keyring);
        # apt has already checked every file against the signed archive index.
        if dpkg-source --no-copy -x "$dl/openssl_${v#*:}.dsc" "$tmpx" >/dev/null; then
            touch "$tmpx/.complete"
            rm -rf "$dest"
            mv -T "$tmpx" "$dest"
        else
            rm -rf "$tmpx"
            rc=1
        fi
    fi
    rm -rf "$dl"
    return "$rc"
}

# resolve_debian_source - set src_dir/src_ident to a cached extraction of the newest openssl
# source version apt offers (or TLSRIG_OPENSSL_DEBVER), fetching it when needed. A version the
# archive failed to serve is skipped for a day instead of being retried on every run.
recently_unavailable() {
    [ -n "$(find "$src_cache" -maxdepth 1 -name ".unavailable-$1" -mmin -1440 2>/dev/null)" ]
}
resolve_debian_source() {
    local versions v attempt
    mkdir -p "$src_cache"
    for attempt in 1 2; do
        if [ -n "${TLSRIG_OPENSSL_DEBVER:-}" ]; then
            versions=$TLSRIG_OPENSSL_DEBVER
        else
            versions=$(source_versions)
        fi
        # Fast path first: a complete extraction needs neither apt nor a lock.
        for v in $versions; do
            if [ -f "$src_cache/openssl-$v/.complete" ]; then
                src_dir=$src_cache/openssl-$v
                src_ident="debian-source openssl $v"
                return 0
            fi
            [ -n "${TLSRIG_OPENSSL_DEBVER:-}" ] && break
            recently_unavailable "$v" || break
        done
        if [ -z "$versions" ]; then
            [ "$attempt" -eq 1 ] || break
            ensure_deb_src
            continue
        fi
        exec 8>"$src_cache/.lock"
        flock 8
        for v in $versions; do
            if [ -z "${TLSRIG_OPENSSL_DEBVER:-}" ] && recently_unavailable "$v"; then
                continue
            fi
            if [ -f "$src_cache/openssl-$v/.complete" ] || fetch_source "$v"; then
                rm -f "$src_cache/.unavailable-$v"
                flock -u 8
                src_dir=$src_cache/openssl-$v
                src_ident="debian-source openssl $v"
                return 0
            fi
            say "openssl $v is listed but could not be downloaded; trying an older version"
            touch "$src_cache/.unavailable-$v"
        done
        flock -u 8
        # Stale indexes can list versions the archive no longer serves: refresh once, retry.
        if [ "$attempt" -ne 1 ] || [ "$apt_updated" -ne 0 ]; then
            break
        fi
        ensure_deb_src
        rm -f "$src_cache"/.unavailable-*
    done
    if [ -n "${TLSRIG_OPENSSL_DEBVER:-}" ]; then
        die "could not fetch Debian source openssl=$TLSRIG_OPENSSL_DEBVER"
    fi
    die_tool "no downloadable openssl source package in apt's deb-src indexes; use --src DIR"
}

if [ -n "$src_dir" ]; then
    # Paths, sizes and mtimes identify the tree's contents cheaply (edits and checkouts
    # change them) without hashing every file on each run.
    src_ident="tree $src_dir $(find "$src_dir" -path "$src_dir/.git" -prune -o -type f \
        -printf '%P %s %T@\n' | LC_ALL=C sort | sha256sum | cut -c1-16)"
else
    src_ident=""
    resolve_debian_source
fi

# OpenSSL version from the tree itself, e.g. 3.0.20 (or 3.2.0-alpha1).
# Parsed rather than sourced: a --src tree is not ours to execute.
vdat() { sed -n "s/^$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "$src_dir/VERSION.dat"; }
ossl_version=$(vdat MAJOR).$(vdat MINOR).$(vdat PATCH)
pre=$(vdat PRE_RELEASE_TAG)
ossl_version+=${pre:+-$pre}
[[ $ossl_version =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] ||
    die_usage "cannot read the version from $src_dir/VERSION.dat"
ossl_major=${ossl_version%%.*}
ossl_minor=${ossl_version#*.}
ossl_minor=${ossl_minor%%.*}
[ "$ossl_major" -ge 3 ] ||
    die_usage "OpenSSL $ossl_version is not supported (3.x needed: no-module etc.)"

# ---- configuration -----------------------------------------------------------------------
# Feature set: Debian's own (debian/rules CONFARGS for bookworm) so the fuzzed library has the
# protocols and algorithms of the libssl the rig tests; plus weak-ssl-ciphers, which compiles
# in the RC4 TLS suites: more cipher-list, negotiation and record code for the fuzzers, while
# whether a suite is offered stays up to each target's cipher string and security level.
# SSLv3 stays out as in Debian: no peer the rig models can speak it, so fuzzing it would only
# find bugs in code nobody ships.
cfg=(no-shared no-tests no-module
    no-idea no-mdc2 no-rc5 no-zlib no-ssl3 no-ssl3-method enable-rfc3779 enable-cms
    no-capieng no-rdrand
    enable-weak-ssl-ciphers)
[ "$arch" != x86_64 ] || cfg+=(enable-ec_nistp_64_gcc_128)
# 3.2 gained no-docs; 3.0/3.1 never build docs for the targets used below anyway.
if [ "$ossl_major" -gt 3 ] || [ "$ossl_minor" -ge 2 ]; then
    cfg+=(no-docs)
fi

fuzz_macro=-DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
ldcmd=""
# --debug only drops -DNDEBUG here (CFLAGS below replace its -O0): assert() stays live in the
# fuzzed builds so a broken internal invariant crashes instead of passing silently, as in
# OpenSSL's own fuzzing recipe. plain stays a release build.
if [ "$flavor" = plain ]; then
    cfg+=(--release)
else
    cfg+=(--debug)
fi
case $flavor in
fuzz)
    cc=$clang_cmd
    # Sanitizers spelt out rather than enable-asan/enable-ubsan so their order is ours:
    # -fno-sanitize=alignment must follow -fsanitize=undefined (OpenSSL does deliberate
    # unaligned loads on x86; its fuzz recipe and OSS-Fuzz disable the check too).
    # -DPEDANTIC drops inline assembly the sanitizers cannot see, as enable-ubsan would.
    cflags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
    cflags+=" -fno-sanitize=alignment -fsanitize=fuzzer-no-link -DPEDANTIC $fuzz_macro"
    # Arithmetic kernels go without coverage instrumentation (the list says which and why).
    # The list is copied into the cache under a name holding its hash, so CFLAGS, and with
    # them the cache key, change whenever it does.
    ignore_src=$(dirname "$(readlink -f "$0")")/openssl-sancov-ignore.txt
    [ -f "$ignore_src" ] || die "missing $ignore_src"
    ignore=$cache/openssl/sancov-ignore-$(sha256sum <"$ignore_src" | cut -c1-12).txt
    mkdir -p "$cache/openssl"
    [ -f "$ignore" ] || { cp "$ignore_src" "$ignore.tmp$$" && mv "$ignore.tmp$$" "$ignore"; }
    cflags+=" -fsanitize-coverage-ignorelist=$ignore"
    ;;
afl)
    cc=afl-clang-fast
    cflags="-O2 -g -fno-omit-frame-pointer $fuzz_macro"
    ;;
cov)
    cc=$clang_cmd
    # The fuzzing macro too, so coverage is measured on the code the fuzzers run.
    cflags="-O1 -g -fprofile-instr-generate -fcoverage-mapping $fuzz_macro"
    ;;
plain)
    cc=$clang_cmd
    cflags="-O2 -g"
    ;;
esac
case $arch in
x86_64) target=linux-x86_64 ;;
aarch64) target=linux-aarch64 ;;
*) target="" ;; # let config guess
esac

fuzz_targets=()
if [ "$with_fuzzers" -eq 1 ]; then
    fuzz_targets=(fuzz/server fuzz/client)
    if [ "$flavor" = afl ]; then
        # fuzz/driver.c then provides an __AFL_LOOP persistent-mode main().
        cfg+=(enable-fuzz-afl)
    else
        # libFuzzer's main; in cov/plain the binaries replay corpora (e.g. for llvm-cov).
        cfg+=(enable-fuzz-libfuzzer "--with-fuzzer-lib=$(rt_lib fuzzer)")
        ldcmd=$clangxx_cmd
    fi
fi

compiler_ident="$clang_version_line ($clang_full)"
if [ "$flavor" = afl ]; then
    # afl-cc -h exits non-zero; its first line names the afl++ version.
    afl_banner=$(afl-cc -h 2>&1 || true)
    compiler_ident+="; ${afl_banner%%[[:space:]]*}"
fi

inputs=$(
    cat <<EOF
script-version: $SCRIPT_VERSION
flavor: $flavor
source: $src_ident
openssl: $ossl_version
target: ${target:-config}
configure: ${cfg[*]}
CC: $cc
CFLAGS: $cflags
compiler: $compiler_ident
fuzzers: ${fuzz_targets[*]:-none}${ldcmd:+ LDCMD=$ldcmd}
EOF
)
key=$(printf '%s\n' "$inputs" | sha256sum | cut -c1-12)
name=$ossl_version-$flavor-$key
prefix=$cache/openssl/$name

if [ -f "$prefix/.complete" ]; then
    echo "$prefix" >&3
    exit 0
fi

# ---- build -------------------------------------------------------------------------------
# make, and a perl with the core modules OpenSSL's Configure loads (perl-base lacks IPC::Cmd);
# checked only now because a cached prefix needs neither.
build_pkgs=()
command -v make >/dev/null 2>&1 || build_pkgs+=(make)
perl -MIPC::Cmd -MFile::Path -MFindBin -MTime::Local -e1 >/dev/null 2>&1 || build_pkgs+=(perl)
[ ${#build_pkgs[@]} -eq 0 ] || apt_install "to build OpenSSL" "${build_pkgs[@]}"
command -v make >/dev/null 2>&1 || die_tool "make is not available"

mkdir -p "$cache/openssl"
# One builder per prefix: a concurrent caller waits and then finds the finished prefix.
exec 9>"$cache/openssl/.$name.lock"
if ! flock -n 9; then
    say "another build of $name is running; waiting for it"
    flock 9
fi
if [ -f "$prefix/.complete" ]; then
    echo "$prefix" >&3
    exit 0
fi

# The object dir is a sibling of the prefix (same depth) and its name is fixed (the lock makes
# it ours). Debug info and coverage mappings record the object dir, which is deleted after the
# build, so it is mapped to the prefix: the relative source paths OpenSSL's out-of-tree build
# compiles with (../../src/...) then resolve from the prefix to the cached source, and the
# generated headers to the installed ones, for debuggers, symbolizers and llvm-cov alike.
obj=$cache/openssl/.build-$name
stage_root=$cache/openssl/.stage-$name
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() { rm -rf "$obj" "$stage_root"; }
trap cleanup EXIT
# Bash runs a trap only after its foreground child ends, so a killed script would leave make
# compiling for minutes; run_logged waits on a background child instead, and the trap stops
# it (GNU make passes SIGTERM on to its own jobs).
child=""
# shellcheck disable=SC2317 # called by the INT/TERM trap
on_signal() {
    if [ -n "$child" ]; then
        kill -TERM "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
    exit 130
}
trap on_signal INT TERM
cleanup
mkdir -p "$obj"
log=$obj/build.log
map_flags="-ffile-prefix-map=$obj=$prefix"
[ "$flavor" != cov ] || map_flags+=" -fcoverage-prefix-map=$obj=$prefix"

# run_logged WHAT CMD... - run CMD in the object dir with output to the log; on failure show
# the end of the log, keep a copy outside the (discarded) object dir, and exit 1.
run_logged() {
    local what=$1
    shift
    (cd "$obj" && exec "$@") >>"$log" 2>&1 &
    child=$!
    if ! wait "$child"; then
        child=""
        mkdir -p "$cache/logs"
        cp "$log" "$cache/logs/$name.log"
        tail -n 40 "$log"
        die "$what failed; full log: $cache/logs/$name.log"
    fi
    child=""
}

start=$(date +%s)
say "building OpenSSL $ossl_version, flavor $flavor, into $prefix"
say "source: $src_dir"
printf '%s\n' "$inputs" | sed 's/^/  /'
export AFL_QUIET=1 # afl-clang-fast prints a banner per compile otherwise
config_cmd=(perl "$src_dir/Configure")
[ -n "$target" ] || config_cmd=("$src_dir/config")
# The final prefix is compiled in (OPENSSLDIR, .pc files). OPENSSLDIR points at an empty
# directory inside it so no host openssl.cnf alters behaviour under fuzzing.
run_logged "Configure" "${config_cmd[@]}" ${target:+"$target"} "${cfg[@]}" \
    "--prefix=$prefix" "--openssldir=$prefix/ssl" --libdir=lib \
    "CC=$cc" "CFLAGS=$cflags $map_flags"
say "compiling with make -j$jobs (log: $log)"
make_vars=()
[ -z "$ldcmd" ] || make_vars+=("LDCMD=$ldcmd")
run_logged "make" make -j"$jobs" build_libs "${make_vars[@]}"
# Separately: build_libs runs a sub-make, and a parallel top-level make asked for the fuzzers
# too would write libcrypto.a from two processes at once.
if [ ${#fuzz_targets[@]} -gt 0 ]; then
    run_logged "make ${fuzz_targets[*]}" make -j"$jobs" "${fuzz_targets[@]}" "${make_vars[@]}"
fi
run_logged "make install_dev" make install_dev DESTDIR="$stage_root"

stage=$stage_root$prefix
# install_dev creates bin/ even when there is nothing to put in it.
rmdir "$stage/bin" 2>/dev/null || true
for f in lib/libssl.a lib/libcrypto.a include/openssl/ssl.h; do
    [ -f "$stage/$f" ] || die "the install step produced no $f"
done
if [ "$with_fuzzers" -eq 1 ]; then
    mkdir -p "$stage/bin"
    cp "$obj/fuzz/server" "$stage/bin/openssl-fuzz-server"
    cp "$obj/fuzz/client" "$stage/bin/openssl-fuzz-client"
fi
printf '%s\n' "$inputs" >"$stage/inputs"
cp "$log" "$stage/build.log"
touch "$stage/.complete"
# Publish with a single rename on the same filesystem: readers see all of it or none.
rm -rf "$prefix"
mv -T "$stage" "$prefix"
rm -f "$cache/logs/$name.log"
say "done in $(($(date +%s) - start)) s"
echo "$prefix" >&3
exit 0
}
