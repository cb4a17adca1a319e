#!/bin/bash
# Every C file of the project is formatted as .clang-format says (clang-format
# 14, as Debian 12 ships it).  Lists the files that are not, and how to fix
# them.  Exit 77 (skipped) when clang-format is missing, except under CI.
cd "$(dirname "$0")/.." || exit 1
if ! command -v clang-format >/dev/null; then
    echo "clang-format is not installed"
    [ -n "${CI:-}" ] && exit 1
    exit 77
fi
bad=()
while IFS= read -r f; do
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(git ls-files '*.c' '*.h' 2>/dev/null || find component tests -name '*.[ch]')
if [ ${#bad[@]} -gt 0 ]; then
    printf 'not formatted: %s\n' "${bad[@]}"
    echo "fix with: clang-format -i ${bad[*]}"
    exit 1
fi
echo "all C files formatted ($(clang-format --version | head -n 1))"
