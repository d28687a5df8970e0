#!/bin/sh
# check_secret_wipe.sh SRC_DIR — fails when code outside tests/ clears a
# buffer named for a secret (key, secret, token, password, master, cred)
# with memset, bzero or explicit_bzero: secrets are wiped with
# sodium_memzero or nx_secret_wipe (vault.h), which the compiler may not
# drop as a dead store (issue 16). Run by CTest as lint_secret_wipe.
src=${1:-.}
hits=$(grep -rnE --include='*.c' --include='*.h' \
    '(memset|explicit_bzero|bzero)[[:space:]]*\([^,]*(key|secret|token|passw|master|cred)' \
    "$src/core" "$src/uplink" "$src/cortex" "$src/shield" "$src/effectors" "$src/servos" \
    "$src/nexus" "$src/plugins" 2>/dev/null)
if [ -n "$hits" ]; then
    echo "secret buffers cleared with a call the compiler may drop; use sodium_memzero/nx_secret_wipe:"
    echo "$hits"
    exit 1
fi
echo "no secret cleared with memset/bzero/explicit_bzero"
