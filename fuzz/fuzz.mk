# fuzz/fuzz.mk - the fuzz targets; included from the top-level Makefile.
#
#   make fuzz-replay   every target built with $(CC) and the system OpenSSL, run over
#                      corpus/<target>/ and corpus/regressions/<target>/ (part of make test)
#   make fuzz-build    libFuzzer builds (clang, ASan + UBSan) in $(BUILD)/fuzz/libfuzzer/
#   make afl-build     AFL++ builds (afl-clang-fast, ASan + UBSan) in $(BUILD)/fuzz/afl/
#   make fuzz-smoke    each libFuzzer target for 10 s from a copy of its corpus
#   make fuzz TARGET=server SECONDS=60 JOBS=1 ENGINE=libfuzzer|afl
#                      a campaign (scripts/fuzz-campaign.sh): work corpus in
#                      $(BUILD)/fuzz/work/<target>/, crashes kept in $(BUILD)/fuzz/crashes/
#   make fuzz-corpus   record and minimise the committed seeds (scripts/gen-corpus.py)
#   make bench-fuzz    ours vs OpenSSL's own server/client targets (scripts/bench-fuzz.sh)
#
# Each target is one source, fuzz/<target>.c, linked three ways: with fuzz/replay_main.c
# (plain main), with libFuzzer, or with fuzz/afl_main.c (AFL++ persistent mode).
#
# The instrumented builds link the OpenSSL named by FUZZ_OPENSSL: auto (the default:
# scripts/build-openssl.sh fuzz|afl when the script exists, else the system library), system,
# or an install prefix. It is resolved by the recipe of $(dir)/openssl.flags, so reading this
# file never builds OpenSSL; objects are rebuilt only when the choice changes.

FZ_TARGETS   := server client scenario scenario_parser server_mitm client_mitm
FZ_OUT       := $(BUILD)/fuzz
FZ_COMMON    := fuzz/harness.c fuzz/drive.c fuzz/peer_target.c fuzz/seeds.c fuzz/scenario_gen.c fuzz/mitm_plan.c fuzz/mitm_scn.c fuzz/mitm_target.c
FZ_HDRS      := fuzz/harness.h fuzz/scenario_gen.h
FZ_CPPFLAGS  := $(CPPFLAGS) -Iconformance/src -Ifuzz -DTLSRIG_PKI_DIR='"$(PKI)"'
FZ_LIB_SRCS  := $(ENGINE_SRCS) $(WIRE_SRCS) $(RIG_SRCS) $(FZ_COMMON)
FZ_ALL_HDRS  := $(FZ_HDRS) $(ENGINE_HDRS) $(WIRE_HDRS) $(RIG_HDRS)

FUZZ_OPENSSL ?= auto
FUZZ_CLANG   ?= clang
AFL_CC       ?= afl-clang-fast
FZ_SAN       := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FZ_INST_CFLAGS := -O1 -g -fno-omit-frame-pointer $(FZ_SAN)

.PHONY: fuzz-replay fuzz-build afl-build fuzz-smoke fuzz fuzz-corpus fz-force
fz-force:

# ---- replay: the plain driver, any C compiler, the system OpenSSL ----

FZ_REPLAY := $(FZ_TARGETS:%=$(FZ_OUT)/replay/%)

$(FZ_REPLAY): $(FZ_OUT)/replay/%: fuzz/%.c fuzz/replay_main.c $(FZ_COMMON) $(FZ_ALL_HDRS) \
              $(RIG_A) $(WIRE_A) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(FZ_CPPFLAGS) $(BASE_CFLAGS) $(CFLAGS) fuzz/$*.c fuzz/replay_main.c $(FZ_COMMON) \
	    -o $@ $(RIG_A) $(WIRE_A) $(LIB_A) $(LDLIBS_SSL)

fuzz-replay: $(FZ_REPLAY)
	@for t in $(FZ_TARGETS); do \
	    dirs=; \
	    for d in corpus/$$t corpus/regressions/$$t; do [ -d $$d ] && dirs="$$dirs $$d"; done; \
	    $(FZ_OUT)/replay/$$t $$dirs || exit 1; \
	done

# ---- instrumented builds ----
# fz_inst(engine-dir, compiler, flavor, extra compile flags, link flags, driver source)
define fz_inst
$(1)/openssl.flags: fz-force
	@mkdir -p $$(@D)
	@fuzz/openssl-flags.sh $(3) '$$(FUZZ_OPENSSL)' > $$@.new
	@if cmp -s $$@.new $$@; then rm -f $$@.new; else mv $$@.new $$@; \
	    echo "$(3) builds use $$$$(sed -n 3p $$@)"; fi

$(1)/obj/%.o: %.c $$(FZ_ALL_HDRS) $(1)/openssl.flags
	@mkdir -p $$(@D)
	$(2) $$(FZ_CPPFLAGS) $$$$(sed -n 1p $(1)/openssl.flags) $$(BASE_CFLAGS) $(4) -c $$< -o $$@

$(addprefix $(1)/,$(FZ_TARGETS)): $(1)/%: $(1)/obj/fuzz/%.o $(if $(6),$(1)/obj/$(6:.c=.o)) \
        $$(FZ_LIB_SRCS:%.c=$(1)/obj/%.o) $(1)/openssl.flags
	$(2) $(5) $$(filter %.o,$$^) -o $$@ $$$$(sed -n 2p $(1)/openssl.flags)
endef

FZ_LF  := $(FZ_OUT)/libfuzzer
FZ_AFL := $(FZ_OUT)/afl
$(eval $(call fz_inst,$(FZ_LF),$(FUZZ_CLANG),fuzz,$(FZ_INST_CFLAGS) -fsanitize=fuzzer-no-link,\
    -fsanitize=fuzzer $(FZ_SAN),))
$(eval $(call fz_inst,$(FZ_AFL),$(AFL_CC),afl,$(FZ_INST_CFLAGS),$(FZ_SAN),fuzz/afl_main.c))

fuzz-build: $(FZ_TARGETS:%=$(FZ_LF)/%)
afl-build: $(FZ_TARGETS:%=$(FZ_AFL)/%)

# ---- running them ----

fuzz-smoke: fuzz-build
	@for t in $(FZ_TARGETS); do \
	    scripts/fuzz-campaign.sh --smoke --engine libfuzzer --target $$t --seconds 10 \
	        --build $(BUILD) || exit 1; \
	done

TARGET  ?= server
SECONDS ?= 60
JOBS    ?= 1
ENGINE  ?= libfuzzer

fuzz: $(if $(filter afl,$(ENGINE)),$(FZ_AFL)/$(TARGET),$(FZ_LF)/$(TARGET))
	@scripts/fuzz-campaign.sh --engine $(ENGINE) --target $(TARGET) --seconds $(SECONDS) \
	    --jobs $(JOBS) --build $(BUILD)

# tlsrig's server and client targets against OpenSSL's own, same OpenSSL build, one core each
# (scripts/bench-fuzz.sh): exec/s ratios and libssl coverage. 4 x BENCH_FUZZ_SECONDS of runs,
# two at a time.
BENCH_FUZZ_SECONDS ?= 600
.PHONY: bench-fuzz
bench-fuzz: deps
	scripts/bench-fuzz.sh --seconds $(BENCH_FUZZ_SECONDS) --build $(BUILD)

fuzz-corpus: $(FZ_REPLAY) $(TLSRIG_BIN)
	$(PYTHON) scripts/gen-corpus.py --build $(BUILD)

# Triage, coverage and the OSS-Fuzz build check live in their own files.
include fuzz/triage.mk
include fuzz/coverage.mk
include fuzz/ossfuzz.mk
