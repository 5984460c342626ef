# Portal build. `make` builds build/portal; `make run` and `make test` first
# install any missing Debian packages (scripts/deps.sh), so on a fresh machine
# those two commands are the whole set-up.

VERSION := 0.1.0
COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

CC ?= cc
PKGS := libevent libevent_pthreads sqlite3 libpq libcurl jansson yaml-0.1 libsodium
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS = $(shell pkg-config --libs $(PKGS)) -lpthread -lm
TEST_LIBS = $(shell pkg-config --libs criterion)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-unused-parameter
COMMON := -std=c11 -D_GNU_SOURCE -Isrc $(WARN) -MMD -MP \
	-DPORTAL_VERSION='"$(VERSION)"' -DPORTAL_COMMIT='"$(COMMIT)"'
CFLAGS_REL := $(COMMON) -O2 -g
CFLAGS_SAN := $(COMMON) -O1 -g -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=all
LDFLAGS_SAN := -fsanitize=address,undefined
# clang 14 and its libFuzzer runtime (scripts/deps.sh test)
FUZZ_CC := clang
CFLAGS_FUZZ := $(COMMON) -O1 -g -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
LDFLAGS_FUZZ := -fsanitize=fuzzer,address,undefined

SRC := $(sort $(shell find src -name '*.c' ! -path src/main.c))
UNIT := $(sort $(wildcard tests/unit/*.c tests/support/*.c))
FUZZ_SUPPORT := $(sort $(wildcard tests/fuzz/support/*.c tests/support/*.c))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))

# Files compiled into the binary: static assets, migrations, the API document,
# the GraphQL documents sent to DataHub.
EMBED := $(sort $(wildcard src/web/assets/*) $(wildcard src/store/migrations/*/*.sql) \
	$(wildcard src/adapters/datahub/*.graphql)) docs/openapi.json
EMBED_ARGS = $(foreach f,$(EMBED),$(patsubst src/%,%,$(f))=$(f))

.PHONY: all run test test-pg memcheck deps deps-test unit unit-san integration browser clean fuzz fuzz-merge

all: build/portal

# --- one rule set per flavour: build/ (release), build-san/ (sanitizers) and
# build-fuzz/ (clang, libFuzzer); the fourth argument is the compiler
define flavour
$(1)/obj/%.o: %.c
	@mkdir -p $$(dir $$@)
	$(4) $(2) $$(PKG_CFLAGS) -c $$< -o $$@

$(1)/obj/gen/embedded.o: build/gen/embedded.c
	@mkdir -p $$(dir $$@)
	$(4) $(2) -c $$< -o $$@

$(1)/libportal.a: $$(SRC:%.c=$(1)/obj/%.o) $(1)/obj/gen/embedded.o
	rm -f $$@ && ar rcs $$@ $$^

$(1)/portal: $(1)/obj/src/main.o $(1)/libportal.a
	$(4) $(3) -o $$@ $$^ $$(PKG_LIBS)

$(1)/unit-tests: $$(UNIT:%.c=$(1)/obj/%.o) $(1)/libportal.a
	$(4) $(3) -o $$@ $$^ $$(PKG_LIBS) $$(TEST_LIBS)

-include $$(shell find $(1)/obj -name '*.d' 2>/dev/null)
endef

$(eval $(call flavour,build,$(CFLAGS_REL),,$$(CC)))
$(eval $(call flavour,build-san,$(CFLAGS_SAN),$(LDFLAGS_SAN),$$(CC)))
$(eval $(call flavour,build-fuzz,$(CFLAGS_FUZZ),$(LDFLAGS_FUZZ),$$(FUZZ_CC)))

# --- fuzz targets: one per parser of outside input (docs/fuzzing.md), each
# linked with the shared helpers in tests/fuzz/support/ and tests/support/
build-fuzz/fuzz_%: build-fuzz/obj/tests/fuzz/fuzz_%.o $(FUZZ_SUPPORT:%.c=build-fuzz/obj/%.o) \
		build-fuzz/libportal.a
	$(FUZZ_CC) $(LDFLAGS_FUZZ) -o $@ $^ $(PKG_LIBS)

# Their objects are kept, so a make with nothing changed relinks nothing.
.SECONDARY: $(FUZZ_BINS:build-fuzz/%=build-fuzz/obj/tests/fuzz/%.o) \
	$(FUZZ_SUPPORT:%.c=build-fuzz/obj/%.o)

# Runs every target for FUZZ_SECONDS on a scratch copy of its corpus; fails
# on a crash, a leak or a timeout and prints the reproducer's path.
FUZZ_SECONDS ?= 60
fuzz: deps-test
	$(MAKE) -j$(shell nproc) $(FUZZ_BINS)
	bash tests/fuzz/run.sh --seconds $(FUZZ_SECONDS) $(FUZZ_BINS)

# The same, but new inputs that add coverage are merged into tests/fuzz/corpus.
fuzz-merge: deps-test
	$(MAKE) -j$(shell nproc) $(FUZZ_BINS)
	bash tests/fuzz/run.sh --seconds $(FUZZ_SECONDS) --merge $(FUZZ_BINS)

build/tools/embed: tools/embed.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O1 $(WARN) -o $@ $<

build/gen/embedded.c: build/tools/embed $(EMBED) Makefile
	@mkdir -p $(dir $@)
	build/tools/embed $@ $(EMBED_ARGS)

# --- set-up, run, test
deps:
	@bash scripts/deps.sh build

deps-test:
	@bash scripts/deps.sh test

# A new database gets the demo data set, so the pages have something to show,
# and, when it has no account yet, a first admin whose generated password is
# printed once; without a portal.yaml the shipped catalogue
# (config/portal.example.yaml) is used. A worker runs beside the server.
run: deps
	$(MAKE) build/portal
	./build/portal demo --db ./portal.db --if-empty
	@if [ "$$(./build/portal user list --json --db ./portal.db)" = "[]" ]; then \
		echo "First admin account 'admin'; sign in at http://127.0.0.1:8080/login with this password (shown once):"; \
		./build/portal user add --name admin --role admin --db ./portal.db 2>/dev/null; \
	fi
	@# A worker beside the server runs approved proposals and proves them; it
	@# stops with the server (Ctrl-C reaches both).
	cfg=$(if $(wildcard portal.yaml),portal.yaml,config/portal.example.yaml); \
	./build/portal worker --db ./portal.db --config $$cfg & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; \
	./build/portal serve --listen 127.0.0.1:8080 --db ./portal.db --config $$cfg

test: deps-test
	$(MAKE) -j$(shell nproc) build/portal build/unit-tests build-san/portal build-san/unit-tests \
		$(FUZZ_BINS)
	bash tests/run.sh

# The store and integration suites on PostgreSQL only, both builds, on a
# throwaway cluster.
test-pg: deps-test
	$(MAKE) -j$(shell nproc) build/portal build/unit-tests build-san/portal build-san/unit-tests
	bash tests/run.sh unit-pg unit-pg-san integration-pg integration-pg-san

# The integration tests with every portal process under valgrind memcheck,
# every file but the kill -9 one (make test runs one file per subsystem:
# MEMCHECK_SUBSET in tests/run.sh).
memcheck: deps-test
	$(MAKE) build/portal
	bash tests/run.sh memcheck

clean:
	rm -rf build build-san build-fuzz
