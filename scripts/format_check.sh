#!/usr/bin/env bash
# Fails, naming each file, when a tracked C++ file differs from the
# repository's .clang-format (Google-based, 100 columns). Part of the README's
# test command; fix with `clang-format -i FILE`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
formatter=$(command -v clang-format-14 || command -v clang-format || true)
if [[ -z "$formatter" ]]; then
  echo "format_check: clang-format not found (scripts/setup.sh installs clang-format)" >&2
  exit 1
fi
# The tracked sources; outside a git checkout (an unpacked archive), the same folders' files.
sources() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z '*.h' '*.cc'
  else
    find app bench core datasets fuzz harness kernels models optimizers training \
      \( -name '*.h' -o -name '*.cc' \) -print0
  fi
}
bad=()
while IFS= read -r -d '' f; do
  "$formatter" --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(sources)
if ((${#bad[@]})); then
  echo "format_check: ${#bad[@]} file(s) differ from .clang-format (run clang-format -i on them):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "format_check: $(sources | tr -cd '\0' | wc -c) files match .clang-format"
