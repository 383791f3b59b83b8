# shellcheck shell=bash source-path=SCRIPTDIR
# SPDX-License-Identifier: MIT
#
# integration/lib.sh: sourced by every integration/test_*.sh and
# integration/hostile/test_*.sh. Loads the test library, integration/lib/,
# one file per concern, in this order (a later file may use an earlier
# one's functions and variables at load time, never the reverse):
#
#   core.sh     the test's process, reporting, running commands, scratch
#               directories, the undo stack, the EXIT trap; checks that
#               it runs as root and that the build is there
#   assert.sh   the assertions
#   app.sh      cutover itself (cutover, co), app sources and configs,
#               looking at an app root
#   web.sh      a private nginx + php-fpm stack on loopback (also used by
#               `make bench` and the examples; functions only)
#   fpm.sh      the fpm tests' stack, app releases and config
#   load.sh     loadgen in the background and its summary
#   bind.sh     mode = bind: mounts and their cleanup
#   hostile.sh  the CI user, sudo rules, /etc/cutover, what a refusal
#               must leave as it was
#   tools.sh    the test tools make builds (integration/tools.mk)
#   laravel.sh  the bundled Laravel app
#   git.sh      git repositories outside /tmp
#   fleet.sh    N hosts on this machine (mount namespaces with sshd,
#               nginx, php-fpm), for the fleet tests and bench/fleet.sh
#   swap_app.sh the reload = swap tests' stack: pool file, nginx, config
#   swap.sh     reload = swap without systemd: a private /run and a
#               systemctl test double (lib/systemd_double.py)

# The library's frames, for it_where: this file as the test named it.
# shellcheck disable=SC2034 # used by lib/core.sh
IT_LOADER=${BASH_SOURCE[0]}
IT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib

# shellcheck source=lib/core.sh
. "$IT_LIB_DIR/core.sh"
# shellcheck source=lib/assert.sh
. "$IT_LIB_DIR/assert.sh"
# shellcheck source=lib/app.sh
. "$IT_LIB_DIR/app.sh"
# shellcheck source=lib/web.sh
. "$IT_LIB_DIR/web.sh"
# shellcheck source=lib/fpm.sh
. "$IT_LIB_DIR/fpm.sh"
# shellcheck source=lib/load.sh
. "$IT_LIB_DIR/load.sh"
# shellcheck source=lib/bind.sh
. "$IT_LIB_DIR/bind.sh"
# shellcheck source=lib/hostile.sh
. "$IT_LIB_DIR/hostile.sh"
# shellcheck source=lib/tools.sh
. "$IT_LIB_DIR/tools.sh"
# shellcheck source=lib/laravel.sh
. "$IT_LIB_DIR/laravel.sh"
# shellcheck source=lib/git.sh
. "$IT_LIB_DIR/git.sh"
# shellcheck source=lib/fleet.sh
. "$IT_LIB_DIR/fleet.sh"
# shellcheck source=lib/swap.sh
. "$IT_LIB_DIR/swap.sh"
# shellcheck source=lib/swap_app.sh
. "$IT_LIB_DIR/swap_app.sh"
