#!/bin/bash
# build.sh - the OSS-Fuzz / ClusterFuzzLite build of tlsrig's fuzz targets.
#
# Run by the fuzzing infrastructure inside the builder image (.clusterfuzzlite/Dockerfile), as
#     $SRC/build.sh            (working directory $SRC/tlsrig)
# or locally by scripts/test-oss-fuzz-build.sh, which sets the same environment.
#
# Environment (set by the infrastructure; nothing else is read):
#   CC CXX CFLAGS CXXFLAGS   compilers and flags, sanitizer and coverage flags included
#   LIB_FUZZING_ENGINE       what links the fuzzing engine in (e.g. -fsanitize=fuzzer)
#   SRC                      holds the project as $SRC/tlsrig
#   WORK                     scratch space (the OpenSSL build goes here)
#   OUT                      where the targets and their files go
#   OPENSSL_SRC              optional: an unconfigured OpenSSL 3.x source tree
#                            (default $SRC/openssl); it is built out of tree, never written to
#
# Steps: build OpenSSL static and instrumented with $CC/$CFLAGS into $WORK; compile the engine,
# the conformance interpreter and the shared fuzz code; link each target of fuzz/fuzz.mk's
# FZ_TARGETS with $CXX and $LIB_FUZZING_ENGINE. Into $OUT go, per target: the binary,
# <target>_seed_corpus.zip (corpus/<target>/ and corpus/regressions/<target>/),
# <target>.options and, when the options name one, <target>.dict; and once: tlsrig-pki/, the
# test PKI the server and client targets load (found next to the binary at run time, see
# pki_beside_binary.c).
#
# OpenSSL is configured only when $WORK holds no configuration of the same options (so a
# caller that keeps $WORK gets an incremental build); make runs every time.
#
# Exit status: 0 ok, 1 a build step failed, 2 a required variable is unset or a path is
# wrong, 3 a required tool is missing.
set -euo pipefail

prog=build.sh
trap 'echo "$prog: error: unexpected failure at line $LINENO" >&2' ERR

die() { echo "$prog: error: $*" >&2; exit 1; }
die_usage() { echo "$prog: $*" >&2; exit 2; }
die_tool() { echo "$prog: error: $*" >&2; exit 3; }

for v in CC CXX CFLAGS CXXFLAGS LIB_FUZZING_ENGINE SRC WORK OUT; do
    [ -n "${!v+set}" ] || die_usage "$v is not set (the fuzzing infrastructure sets it)"
done
OPENSSL_SRC=${OPENSSL_SRC:-$SRC/openssl}
project=$SRC/tlsrig

for tool in "${CC%% *}" "${CXX%% *}" make perl zip; do
    command -v "$tool" >/dev/null 2>&1 || die_tool "$tool is not installed"
done
[ -f "$project/fuzz/fuzz.mk" ] || die_usage "$project is not the tlsrig source tree"
if [ ! -f "$OPENSSL_SRC/Configure" ] || [ ! -f "$OPENSSL_SRC/VERSION.dat" ]; then
    die_usage "OPENSSL_SRC=$OPENSSL_SRC is not an OpenSSL 3.x source tree"
fi
# An in-tree configuration would shadow the generated headers of the out-of-tree build.
[ ! -e "$OPENSSL_SRC/configdata.pm" ] ||
    die_usage "$OPENSSL_SRC was configured in place; run 'make distclean' there first"
mkdir -p "$WORK" "$OUT"
jobs=$(nproc 2>/dev/null || echo 2)

# ---- OpenSSL -------------------------------------------------------------------------------
# The feature set of scripts/build-openssl.sh (Debian's, plus the weak ciphers), so these
# targets fuzz the same protocol surface as the local builds. --debug keeps assert() live;
# its -O0 is replaced by $CFLAGS.
ossl_cfg=(no-shared no-tests no-module
    no-idea no-mdc2 no-rc5 no-zlib no-ssl3 no-ssl3-method enable-rfc3779 enable-cms
    no-capieng no-rdrand enable-weak-ssl-ciphers --debug)
[ "$(uname -m)" != x86_64 ] || ossl_cfg+=(enable-ec_nistp_64_gcc_128)
# MemorySanitizer cannot see into assembly: every byte it writes would look uninitialised.
case " $CFLAGS " in *-fsanitize=memory*) ossl_cfg+=(no-asm) ;; esac
ossl_cflags="$CFLAGS -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION"
ossl_build=$WORK/openssl-build
ossl_prefix=$WORK/openssl-install
# The build files name the source by its real path, so a SRC reached through a symbolic link
# that is gone by the next build does not break an incremental one.
ossl_src=$(cd "$OPENSSL_SRC" && pwd -P)
ossl_id="$CC | $ossl_cflags | ${ossl_cfg[*]} | $ossl_src"

ossl_configure() {
    echo "$prog: configuring OpenSSL ($ossl_src) in $ossl_build"
    rm -rf "$ossl_build" "$ossl_prefix"
    mkdir -p "$ossl_build"
    (cd "$ossl_build" && CC=$CC CXX=$CXX CFLAGS=$ossl_cflags CXXFLAGS=$CXXFLAGS \
        perl "$ossl_src/Configure" "${ossl_cfg[@]}" --prefix="$ossl_prefix" \
        --openssldir="$ossl_prefix/ssl" --libdir=lib) > "$WORK/openssl-configure.log" 2>&1 || {
        tail -n 20 "$WORK/openssl-configure.log" >&2
        die "OpenSSL's Configure failed (log: $WORK/openssl-configure.log)"
    }
    echo "$ossl_id" > "$ossl_build/.tlsrig-config"
}
ossl_make() {
    echo "$prog: building OpenSSL (make -j$jobs build_libs install_dev; log: $WORK/openssl-build.log)"
    make -C "$ossl_build" -j"$jobs" build_libs > "$WORK/openssl-build.log" 2>&1 &&
        make -C "$ossl_build" install_dev >> "$WORK/openssl-build.log" 2>&1
}

start=$(date +%s)
if [ -f "$ossl_build/Makefile" ] && [ "$(cat "$ossl_build/.tlsrig-config" 2>/dev/null)" = "$ossl_id" ]; then
    # An earlier build in this $WORK: make picks up where it stopped. Should that fail (a
    # build directory left broken), start over once rather than fail on stale state.
    if ! ossl_make; then
        tail -n 5 "$WORK/openssl-build.log" >&2
        echo "$prog: the incremental OpenSSL build failed; configuring afresh"
        ossl_configure
        ossl_make || { tail -n 30 "$WORK/openssl-build.log" >&2;
            die "building OpenSSL failed (log: $WORK/openssl-build.log)"; }
    fi
else
    ossl_configure
    ossl_make || { tail -n 30 "$WORK/openssl-build.log" >&2;
        die "building OpenSSL failed (log: $WORK/openssl-build.log)"; }
fi
for f in include/openssl/ssl.h lib/libssl.a lib/libcrypto.a; do
    [ -f "$ossl_prefix/$f" ] || die "OpenSSL's install_dev left no $ossl_prefix/$f"
done
echo "$prog: OpenSSL $(sed -n 's/^# define OPENSSL_VERSION_STR "\(.*\)"/\1/p' \
    "$ossl_prefix/include/openssl/opensslv.h") built in $(($(date +%s) - start)) s"

# ---- tlsrig --------------------------------------------------------------------------------
cd "$project"
# The target list and the shared fuzz sources come from fuzz/fuzz.mk, so the two builds
# cannot drift apart.
mk_list() { sed -n "s/^$1 *:= *//p" fuzz/fuzz.mk | head -n 1; }
read -r -a targets <<< "$(mk_list FZ_TARGETS)"
read -r -a fz_common <<< "$(mk_list FZ_COMMON)"
if [ ${#targets[@]} -eq 0 ] || [ ${#fz_common[@]} -eq 0 ]; then
    die "cannot read FZ_TARGETS and FZ_COMMON from fuzz/fuzz.mk"
fi
srcs=(engine/src/*.c wire/src/*.c conformance/src/*.c)
srcs+=("${fz_common[@]}" .clusterfuzzlite/pki_beside_binary.c)

pki_out=$OUT/tlsrig-pki
# No -Werror: the infrastructure's clang is newer than the one the project is checked with.
cppflags=(-D_GNU_SOURCE -Iengine/include -Iengine/src -Iwire/include -Iconformance/src -Ifuzz
    -I"$ossl_prefix/include" -DTLSRIG_PKI_DIR="\"$pki_out\"")
warn=(-std=c11 -Wall -Wextra -Wno-unused-parameter)
obj=$WORK/tlsrig-obj
rm -rf "$obj"
# compile SRC: compile one source into $obj, appending the object to objs
compile() {
    local o=$obj/${1%.c}.o
    mkdir -p "$(dirname "$o")"
    # shellcheck disable=SC2086 # CFLAGS is a list of flags
    $CC "${cppflags[@]}" "${warn[@]}" $CFLAGS -c "$1" -o "$o" ||
        die "compiling $project/$1 failed"
    objs+=("$o")
}
echo "$prog: compiling ${#srcs[@]} sources of the engine, the interpreter and the harness"
objs=()
for f in "${srcs[@]}"; do
    compile "$f"
done
common_objs=("${objs[@]}")

libs=("$ossl_prefix/lib/libssl.a" "$ossl_prefix/lib/libcrypto.a" -ldl -pthread)
for t in "${targets[@]}"; do
    [ -f "fuzz/$t.c" ] || die "fuzz/fuzz.mk lists $t but fuzz/$t.c does not exist"
    echo "$prog: linking $OUT/$t"
    objs=()
    compile "fuzz/$t.c"
    # shellcheck disable=SC2086 # flag lists
    $CXX $CXXFLAGS "${objs[@]}" "${common_objs[@]}" $LIB_FUZZING_ENGINE -o "$OUT/$t" \
        "${libs[@]}" ||
        die "linking $OUT/$t failed"
done

# ---- what the targets need at run time -----------------------------------------------------
rm -rf "$pki_out"
cp -RL pki "$pki_out"

for t in "${targets[@]}"; do
    # Seed corpus: committed seeds and regressions, one flat directory (names are content
    # hashes, so a seed in both is one file).
    seeds=$WORK/seeds/$t
    rm -rf "$seeds"
    mkdir -p "$seeds"
    for d in corpus/$t corpus/regressions/$t; do
        [ -d "$d" ] && find "$d" -maxdepth 1 -type f ! -name '.*' -exec cp -n {} "$seeds/" \;
    done
    rm -f "$OUT/${t}_seed_corpus.zip"
    if [ -n "$(ls -A "$seeds")" ]; then
        (cd "$seeds" && zip -q -X -r "$OUT/${t}_seed_corpus.zip" .) ||
            die "zipping the seed corpus of $t failed"
    fi

    # Options: ClusterFuzz resolves dict = NAME next to the binary, and picks <target>.dict
    # up by its name, so the dictionary is shipped under the target's name.
    rm -f "$OUT/$t.options" "$OUT/$t.dict"
    [ -f "fuzz/$t.options" ] || continue
    dict=$(sed -n 's/^[[:space:]]*dict[[:space:]]*=[[:space:]]*\([^[:space:]]*\).*/\1/p' \
        "fuzz/$t.options" | head -n 1)
    if [ -n "$dict" ]; then
        [ -f "fuzz/$dict" ] || die "fuzz/$t.options names dict = $dict, but fuzz/$dict is missing"
        cp "fuzz/$dict" "$OUT/$t.dict"
    fi
    sed "s/^\([[:space:]]*dict[[:space:]]*=[[:space:]]*\).*/\1$t.dict/" "fuzz/$t.options" \
        > "$OUT/$t.options"
done

echo "$prog: done in $(($(date +%s) - start)) s: ${targets[*]} in $OUT"
