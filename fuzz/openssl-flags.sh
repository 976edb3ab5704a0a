#!/usr/bin/env bash
# openssl-flags.sh FLAVOR [SPEC] - the OpenSSL an instrumented fuzz build compiles and links
# against, as three lines: compiler flags, libraries, and a description for the build log.
#
# SPEC is what FUZZ_OPENSSL holds:
#   auto     scripts/build-openssl.sh FLAVOR when it exists (it builds an instrumented static
#            OpenSSL into a cache, or finds it there, and prints the prefix as its last line);
#            otherwise the system OpenSSL, which libFuzzer and AFL++ run fine against, only
#            without coverage inside OpenSSL
#   system   the system OpenSSL
#   PREFIX   an install prefix with include/openssl/ and lib/libssl.a, lib/libcrypto.a
set -euo pipefail

flavor=${1:?usage: openssl-flags.sh FLAVOR [auto|system|PREFIX]}
spec=${2:-auto}

if [ "$spec" = auto ]; then
    if [ -x scripts/build-openssl.sh ]; then
        # The script's progress may go to stdout too: the prefix is its last line.
        spec=$(scripts/build-openssl.sh "$flavor" | tail -n 1)
        if [ -z "$spec" ]; then
            echo "openssl-flags: scripts/build-openssl.sh $flavor printed no prefix" >&2
            exit 1
        fi
    else
        spec=system
    fi
fi

if [ "$spec" = system ]; then
    echo ""
    echo "-lssl -lcrypto -lpthread"
    echo "the system OpenSSL (not instrumented: coverage of the engine and the rig only)"
    exit 0
fi

for libdir in "$spec/lib" "$spec/lib64"; do
    if [ -f "$libdir/libssl.a" ] && [ -f "$libdir/libcrypto.a" ] &&
        [ -d "$spec/include/openssl" ]; then
        echo "-I$spec/include"
        echo "$libdir/libssl.a $libdir/libcrypto.a -ldl -pthread"
        echo "the $flavor OpenSSL in $spec"
        exit 0
    fi
done
echo "openssl-flags: $spec is not an OpenSSL install prefix (include/openssl, lib/libssl.a," \
    "lib/libcrypto.a)" >&2
exit 1
