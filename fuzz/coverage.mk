# fuzz/coverage.mk - source-based coverage (llvm-cov) of the fuzz targets; included from
# fuzz/fuzz.mk.
#
#   make coverage-build                   every target built with fuzz/replay_main.c, clang
#                                         -fprofile-instr-generate -fcoverage-mapping, and
#                                         the cov flavor of scripts/build-openssl.sh, in
#                                         $(BUILD)/fuzz/cov/
#   make coverage TARGET=server [CORPUS="dir ..."] [JOBS=N]
#                                         runs the corpus (default: corpus/<target>/,
#                                         corpus/regressions/<target>/ and the campaign's
#                                         $(BUILD)/fuzz/work/<target>/) through the cov build;
#                                         HTML, summary.txt, summary.json and handlers.txt
#                                         in $(BUILD)/fuzz/coverage/<target>/
#                                         (scripts/fuzz-coverage.sh)
#   make coverage-test                    checks the coverage pipeline on scenario_parser
#                                         (fuzz/tests/test_coverage.py)
#
# FUZZ_OPENSSL works as for the other instrumented builds (auto: the cov flavor).

FZ_COV := $(FZ_OUT)/cov
FZ_COV_CFLAGS := -O1 -g -fprofile-instr-generate -fcoverage-mapping
FZ_COV_LD := -fprofile-instr-generate
CORPUS ?=

.PHONY: coverage-build coverage coverage-test

FZ_COV_MAIN := fuzz/replay_main.c
$(eval $(call fz_inst,$(FZ_COV),$(FUZZ_CLANG),cov,$(FZ_COV_CFLAGS),$(FZ_COV_LD),$(FZ_COV_MAIN)))

coverage-build: $(FZ_TARGETS:%=$(FZ_COV)/%)

coverage: $(FZ_COV)/$(TARGET)
	@scripts/fuzz-coverage.sh --target $(TARGET) --build $(BUILD) --jobs $(JOBS) \
	    $(foreach d,$(CORPUS),--corpus $(d))

coverage-test: $(FZ_COV)/scenario_parser
	@FZ_COV_BUILD=$(BUILD) $(PYTHON) -m pytest -q -p no:cacheprovider fuzz/tests/test_coverage.py
