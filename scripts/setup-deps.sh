#!/usr/bin/env bash
# setup-deps.sh - install the Debian packages tlsrig needs, and only those missing.
# Says what it installs. Uses sudo when not root. Safe to run repeatedly (a no-op when
# everything is present).
set -euo pipefail

PACKAGES=(
    make gcc clang libclang-rt-14-dev   # compilers; clang's ASan/UBSan/LSan runtime
    libssl-dev openssl                  # the TLS stack under test and its CLI (test PKI)
    libcmocka-dev                       # engine unit tests
    python3-pytest python3-pytest-xdist # conformance collection, in parallel
    tshark                              # checks that pcapng captures decrypt
    afl++                               # AFL++ builds and campaigns of the fuzz targets
    llvm                                # llvm-cov/llvm-profdata (make coverage), llvm-symbolizer
)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "setup-deps: need root or sudo to install: ${missing[*]}" >&2
        exit 3
    fi
fi
echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup-deps: done"
