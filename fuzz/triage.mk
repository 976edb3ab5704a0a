# fuzz/triage.mk - crash triage; included from fuzz/fuzz.mk.
#
#   make triage TARGET=server [ENGINE=libfuzzer|afl] [INPUTS='FILE|DIR...'] [TRIAGE_FLAGS=...]
#                      reproduce every input of $(BUILD)/fuzz/crashes/<target>/ (or INPUTS) with
#                      the replay and the sanitizer builds, group them by signature (kind + top
#                      stack frames), minimise one input per signature (libFuzzer, or afl-tmin
#                      for ENGINE=afl): $(BUILD)/fuzz/triage/<target>/ (scripts/fuzz-triage.sh).
#                      Exit status 1 (make fails) when a crash reproduces.
#                      TRIAGE_FLAGS passes options, e.g. --frames 5 --minimize-time 30.
#   make triage-test   the triage script's own test, on fuzz/tests/crashme.c (a target with
#                      known bugs, built only here): fuzz/tests/test_triage.sh
#
# crashme is linked like the real targets (the same replay_main.c, libFuzzer with ASan +
# UBSan, afl_main.c) but needs neither OpenSSL nor the engine.

INPUTS       ?=
TRIAGE_FLAGS ?=
FZ_TEST_OUT  := $(FZ_OUT)/tests

.PHONY: triage triage-test

triage: $(FZ_OUT)/replay/$(TARGET) $(FZ_LF)/$(TARGET) $(if $(filter afl,$(ENGINE)),$(FZ_AFL)/$(TARGET))
	@scripts/fuzz-triage.sh --target $(TARGET) --engine $(ENGINE) --build $(BUILD) \
	    $(TRIAGE_FLAGS) $(INPUTS)

FZ_CRASHME_DEPS := fuzz/tests/crashme.c fuzz/harness.h

$(FZ_TEST_OUT)/replay/crashme: $(FZ_CRASHME_DEPS) fuzz/replay_main.c
	@mkdir -p $(@D)
	$(CC) $(FZ_CPPFLAGS) $(BASE_CFLAGS) $(CFLAGS) fuzz/tests/crashme.c fuzz/replay_main.c -o $@

$(FZ_TEST_OUT)/libfuzzer/crashme: $(FZ_CRASHME_DEPS)
	@mkdir -p $(@D)
	$(FUZZ_CLANG) $(FZ_CPPFLAGS) $(BASE_CFLAGS) $(FZ_INST_CFLAGS) -fsanitize=fuzzer \
	    fuzz/tests/crashme.c -o $@

$(FZ_TEST_OUT)/afl/crashme: $(FZ_CRASHME_DEPS) fuzz/afl_main.c
	@mkdir -p $(@D)
	$(AFL_CC) $(FZ_CPPFLAGS) $(BASE_CFLAGS) $(FZ_INST_CFLAGS) fuzz/tests/crashme.c \
	    fuzz/afl_main.c -o $@

# The AFL++ part of the test runs when afl-clang-fast is installed; it says so when skipped.
FZ_CRASHME_AFL := $(if $(shell command -v $(AFL_CC) 2>/dev/null),$(FZ_TEST_OUT)/afl/crashme)

triage-test: $(FZ_TEST_OUT)/replay/crashme $(FZ_TEST_OUT)/libfuzzer/crashme $(FZ_CRASHME_AFL)
	@fuzz/tests/test_triage.sh $(FZ_TEST_OUT)/replay/crashme $(FZ_TEST_OUT)/libfuzzer/crashme \
	    $(or $(FZ_CRASHME_AFL),-)
