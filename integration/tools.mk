# integration/tools.mk (included by the Makefile): the tools of the
# integration tests, integration/tools/NAME.c, built into $(BUILD)/tools/NAME
# (NAME.so for the libraries in IT_TOOL_LIBS). The tests never compile:
# integration/lib/tools.sh copies these binaries into their scratch dirs.
#
# The project's CFLAGS (its warnings; -Werror under CI=true) without a
# sanitizer, whatever SANITIZE says: marker.so is preloaded into programs
# that carry no sanitizer runtime, and trysys is linked statically. The
# tools use libc only.

IT_TOOL_LIBS := marker
IT_TOOL_CFLAGS = $(filter-out -fsanitize=%,$(CFLAGS))
IT_TOOL_LDFLAGS = $(filter-out -fsanitize=%,$(LDFLAGS))
IT_TOOL_NAMES := $(patsubst integration/tools/%.c,%,$(wildcard integration/tools/*.c))
IT_TOOLS := $(foreach t,$(IT_TOOL_NAMES),$(BUILD)/tools/$(t)$(if $(filter $(t),$(IT_TOOL_LIBS)),.so))

integration-tools: $(IT_TOOLS)

$(BUILD)/tools/%.so: integration/tools/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(IT_TOOL_CFLAGS) -fPIC -shared -Wl,-z,relro,-z,now -o $@ $<

# Run by a build step inside the sandbox: static when the toolchain has a
# static libc, so that it needs nothing from the sandbox's view of /usr.
$(BUILD)/tools/trysys: integration/tools/trysys.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)if echo 'int main(void) { return 0; }' | \
		$(CC) -static -x c -o /dev/null - >/dev/null 2>&1; then \
		$(CC) $(IT_TOOL_CFLAGS) -static -o $@ $<; \
	else \
		$(CC) $(IT_TOOL_CFLAGS) $(IT_TOOL_LDFLAGS) -o $@ $<; \
	fi

$(BUILD)/tools/%: integration/tools/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(IT_TOOL_CFLAGS) $(IT_TOOL_LDFLAGS) -o $@ $<

.PHONY: integration-tools
