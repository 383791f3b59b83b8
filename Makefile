# cutover — zero-downtime release manager for PHP web servers.
# See README.md. `make`, `make test`, `make bench`, `make install`.

# An administrator's command (root or sudo): sbin, like the package's
# /usr/sbin/cutover. The helper's directory is compiled into cutover.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec/cutover
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
DOCDIR ?= $(PREFIX)/share/doc/cutover
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DESTDIR ?=
# Where `make deb` builds (a copy of the tree) and leaves the .deb.
DEBDIR ?= $(BUILD)/deb
BUILD ?= build

CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS := mount libcap libseccomp inih libarchive libcrypto libcurl

WARN := -Wall -Wextra -Wformat=2 -Wshadow -Wno-unused-parameter \
	-Wmissing-prototypes -Wstrict-prototypes -Wvla
HARDEN := -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fPIE \
	-fstack-clash-protection -fcf-protection
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -D_GNU_SOURCE $(WARN) $(HARDEN) -MMD -MP \
	$(shell $(PKG_CONFIG) --cflags $(PKGS))
LDFLAGS += -pie -Wl,-z,relro,-z,now -Wl,--as-needed
LDLIBS += $(shell $(PKG_CONFIG) --libs $(PKGS))

ifeq ($(CI),true)
CFLAGS += -Werror
endif
ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -U_FORTIFY_SOURCE
LDFLAGS += -fsanitize=$(SANITIZE)
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

# One directory per process role (README.md, "Layout"):
#   src/common/    code both binaries run: config, names, the protocol, process
#                  hygiene, FastCGI wire format, history parsing, small utilities
#   src/launcher/  main(): root until it starts the helper and the reader, then drops
#   src/reader/    the source reader (the invoking user's credentials)
#   src/frontend/  the front end (deploy user, no capabilities, seccomp)
#   helpers/       the privileged helper and the build sandbox it starts
# Each binary links the common code and its own directories only; the link
# rules below refuse anything else.
COMMON_SRC := $(sort $(wildcard src/common/*.c))
FRONT_SRC := $(sort $(wildcard src/frontend/*.c src/reader/*.c))
LAUNCHER_SRC := $(sort $(wildcard src/launcher/*.c))
LAUNCHER_MAIN := src/launcher/launcher.c
HELPER_SRC := $(sort $(wildcard helpers/*.c))
HELPER_MAIN := helpers/helper.c

COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
FRONT_OBJ := $(FRONT_SRC:%.c=$(BUILD)/%.o)
LAUNCHER_OBJ := $(LAUNCHER_SRC:%.c=$(BUILD)/%.o)
HELPER_OBJ := $(HELPER_SRC:%.c=$(BUILD)/%.o)

# What each role may include: its own headers and the common ones.
$(BUILD)/src/common/%.o: ROLE_INC := -Isrc/common
$(BUILD)/src/frontend/%.o: ROLE_INC := -Isrc/common -Isrc/frontend
$(BUILD)/src/reader/%.o: ROLE_INC := -Isrc/common -Isrc/reader -Isrc/frontend
$(BUILD)/src/launcher/%.o: ROLE_INC := -Isrc/common -Isrc/frontend -Isrc/reader -I$(BUILD)
$(BUILD)/helpers/%.o: ROLE_INC := -Isrc/common -Ihelpers
TEST_INC := -Isrc/common -Isrc/frontend -Isrc/reader -Isrc/launcher -Ihelpers

# $(call only_from,TARGET,PREREQUISITES,ALLOWED-PATTERNS): fails the build
# when a binary would link an object from another role's directory.
only_from = $(if $(filter-out $(3),$(filter %.o,$(2))),\
	$(error $(1) may link only $(3); refusing $(filter-out $(3),$(filter %.o,$(2)))))

TESTS := $(patsubst tests/%.c,%,$(wildcard tests/test_*.c))

all: $(BUILD)/cutover $(BUILD)/cutover-helper $(BUILD)/opcache-reset.php

# Run inside the PHP-FPM pool by `reload = opcache-reset`; lives next to
# the helper, never under a docroot.
$(BUILD)/opcache-reset.php: helpers/opcache-reset.php
	@mkdir -p $(BUILD)
	$(Q)install -m 0644 $< $@

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) $(ROLE_INC) -c -o $@ $<

# Where the installed cutover looks for its helper; rewritten only when it
# changes, so `make install PREFIX=/usr` rebuilds what depends on it.
$(BUILD)/paths.h: FORCE
	@mkdir -p $(BUILD)
	@echo '#define CUTOVER_LIBEXECDIR "$(LIBEXECDIR)"' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(BUILD)/src/launcher/launcher.o: $(BUILD)/paths.h

$(BUILD)/cutover: $(LAUNCHER_OBJ) $(FRONT_OBJ) $(COMMON_OBJ)
	$(call only_from,$@,$^,$(BUILD)/src/common/% $(BUILD)/src/launcher/% $(BUILD)/src/reader/% $(BUILD)/src/frontend/%)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/cutover-helper: $(HELPER_OBJ) $(COMMON_OBJ)
	$(call only_from,$@,$^,$(BUILD)/src/common/% $(BUILD)/helpers/%)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests link every object but the two mains; cmocka wraps come from
# an optional tests/test_X.wrap file listing symbols to --wrap.
$(BUILD)/tests/%: tests/%.c $(FRONT_OBJ) $(COMMON_OBJ) $(filter-out $(HELPER_MAIN:%.c=$(BUILD)/%.o),$(HELPER_OBJ)) \
		$(filter-out $(LAUNCHER_MAIN:%.c=$(BUILD)/%.o),$(LAUNCHER_OBJ))
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST-LD $@")
	$(Q)$(CC) $(CFLAGS) $(TEST_INC) $(LDFLAGS) -o $@ $< $(filter %.o,$^) $(LDLIBS) $(shell $(PKG_CONFIG) --libs cmocka) \
		$(foreach s,$(shell cat tests/$*.wrap 2>/dev/null),-Wl,--wrap=$(s))

unit: $(TESTS:%=$(BUILD)/tests/%)
	@fail=0; for t in $(TESTS); do \
		echo "== $$t"; $(BUILD)/tests/$$t || fail=1; \
	done; exit $$fail

# The load generator of the zero-downtime tests and benchmarks (libc only).
$(BUILD)/loadgen: bench/loadgen.c
	@mkdir -p $(BUILD)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

# The integration tests' own tools (integration/tools/*.c).
include integration/tools.mk

# The package and the Debian root test_package installs it into are made
# first (once; reused while nothing changed), so that the test's own time
# limit is not spent on them; a failure here is test_package's to report.
integration: all $(BUILD)/loadgen integration-tools
	@BUILD=$(BUILD) bash integration/package/prepare.sh >/dev/null 2>&1 || \
		echo "integration/package/prepare.sh failed; test_package will say why" >&2
	@BUILD=$(BUILD) bash integration/run.sh

test: unit integration

# Staging and switch latency against tar -xf (a minute), then every deploy
# method side by side under the same load (about eight minutes; QUICK=1 for
# a smoke run). Ratios and tables, never pass/fail.
bench: all $(BUILD)/loadgen integration-tools
	@bash bench/run.sh
	@bash bench/compare.sh
	@bash bench/pools.sh

deps:
	@bash .ci/deps.sh

# libFuzzer harnesses (clang); FUZZ_SECONDS per harness, 60 by default.
fuzz:
	@bash fuzz/run.sh $(FUZZ_SECONDS)

demo: all $(BUILD)/loadgen
	@bash examples/demo.sh

# Everything the package ships (debian/rules calls this with PREFIX=/usr):
# the binaries, both manual pages, the boot unit, bash completion, the
# docs, and examples that are not active (no app config, no sudoers
# rule): the paths in them follow BINDIR.
# The systemd units (dist/): installed with ExecStart pointing at BINDIR;
# none is enabled or started by installing (debian/rules).
UNITS := cutover-mount@.service cutover-fpm@.service cutover-fpm-boot@.service \
	cutover-fpm-trim@.service cutover-fpm-trim@.timer

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(DOCDIR)/examples $(DESTDIR)/etc/cutover
	install -m 0755 $(BUILD)/cutover $(DESTDIR)$(BINDIR)/cutover
	install -m 0755 $(BUILD)/cutover-helper $(DESTDIR)$(LIBEXECDIR)/cutover-helper
	install -m 0644 helpers/opcache-reset.php $(DESTDIR)$(LIBEXECDIR)/opcache-reset.php
	install -m 0644 docs/cutover.8 $(DESTDIR)$(MANDIR)/man8/cutover.8
	install -m 0644 docs/cutover.conf.5 $(DESTDIR)$(MANDIR)/man5/cutover.conf.5
	for u in $(UNITS); do \
		sed 's|/usr/sbin/cutover|$(BINDIR)/cutover|' dist/$$u >$(DESTDIR)$(UNITDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	sed 's|/usr/sbin/cutover|$(BINDIR)/cutover|g' dist/sudoers.example \
		>$(DESTDIR)$(DOCDIR)/examples/sudoers.example
	chmod 0644 $(DESTDIR)$(DOCDIR)/examples/sudoers.example
	install -m 0644 dist/app.conf.example $(DESTDIR)$(DOCDIR)/examples/app.conf.example
	install -m 0644 dist/cutover.bash-completion $(DESTDIR)$(BASHCOMPDIR)/cutover
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/

# The Debian package (debian/), built from a copy of the tree's files
# (committed or not, ignored ones left out) so that the tree stays clean;
# the .deb lands in DEBDIR.
deb:
	rm -rf $(DEBDIR)
	mkdir -p $(DEBDIR)/src
	git ls-files -z --cached --others --exclude-standard | \
		xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh | \
		tar -c --null -T - | tar -x -C $(DEBDIR)/src
	cd $(DEBDIR)/src && dpkg-buildpackage -us -uc -b
	rm -rf $(DEBDIR)/src
	@ls -1 $(DEBDIR)/*.deb

clean:
	rm -rf $(BUILD)

FORCE:

.PHONY: all unit integration test bench deps demo fuzz install deb clean FORCE

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
