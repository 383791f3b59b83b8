# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# integration/lib/git.sh: git repositories for tests.

# git_scratch_dir VAR: a scratch directory for a git+file:// repository.
# git runs in the build sandbox, whose /tmp, /var/tmp and /dev/shm are
# private, so the repository must live elsewhere: /srv (Debian has it),
# else /var/lib. Removed on exit like the other scratch directories.
git_scratch_dir()
{
	local base d

	for base in /srv /var/lib; do
		[[ -d $base ]] || continue
		d=$(mktemp -d "$base/cutover-it-git.XXXXXXXX") || continue
		chmod 755 "$d"
		IT_SCRATCH+=("$d")
		printf -v "$1" '%s' "$d"
		return 0
	done
	fatal "no directory outside /tmp for a git repository"
}
