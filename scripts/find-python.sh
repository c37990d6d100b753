#!/usr/bin/env bash
# Print the path of a Python >= 3.12: python3.13/python3.12 on PATH first, then pyenv's, then python3.
set -euo pipefail
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }
for cand in python3.12 python3.13; do
  if p=$(command -v "$cand" 2>/dev/null) && ok "$p"; then echo "$p"; exit 0; fi
done
root="${PYENV_ROOT:-$HOME/.pyenv}"
if [ -d "$root/versions" ]; then
  for p in $(ls -d "$root"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -V); do
    if ok "$p"; then echo "$p"; exit 0; fi
  done
fi
if p=$(command -v python3 2>/dev/null) && ok "$p"; then echo "$p"; exit 0; fi
echo "error: no Python >= 3.12 found (tried python3.13, python3.12, pyenv versions under $root, python3)" >&2
exit 1
