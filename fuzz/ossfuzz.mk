# fuzz/ossfuzz.mk - the OSS-Fuzz / ClusterFuzzLite build check; included from fuzz/fuzz.mk.
#
#   make oss-fuzz-check   run .clusterfuzzlite/build.sh as the infrastructure would (clang,
#                         its ASan flags, -fsanitize=fuzzer, fresh SRC and OUT), then check and
#                         briefly run every target from the moved $OUT
#                         (scripts/test-oss-fuzz-build.sh)
#
#   OSS_FUZZ_SANITIZER=address|undefined   which of the infrastructure's flag sets (address)
#   OSS_FUZZ_SECONDS=N                     fuzz each target N seconds; 0 skips (5)
#   OSS_FUZZ_FLAGS=--no-cache              extra options: --no-cache builds OpenSSL from
#                                          scratch, --keep keeps the temporary directory
#
# The OpenSSL build is cached under $(TLSRIG_CACHE) or ~/.cache/tlsrig/oss-fuzz-work/, keyed by
# the compiler and flags; build.sh itself always configures and builds OpenSSL in its $WORK.

OSS_FUZZ_SANITIZER ?= address
OSS_FUZZ_SECONDS   ?= 5
OSS_FUZZ_FLAGS     ?=

.PHONY: oss-fuzz-check
oss-fuzz-check:
	@scripts/test-oss-fuzz-build.sh --sanitizer $(OSS_FUZZ_SANITIZER) \
	    --seconds $(OSS_FUZZ_SECONDS) $(OSS_FUZZ_FLAGS)
