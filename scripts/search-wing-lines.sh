#!/bin/sh
# Lines of the search wing and the plumbing issue 27 rebuilt, at a commit (default HEAD): the
# files that hold those jobs now, and the ones that held them before it (5b575cb), whichever exist.
#   sh scripts/search-wing-lines.sh [REV]        total
#   sh scripts/search-wing-lines.sh [REV] -v     per file, then the total
rev=${1:-HEAD}
git ls-tree -r --name-only "$rev" src | grep -E '^src/(search/|store/|client/(registry-client|search|platform|fetch-once-more)\.ts|core/(fetch-json|json-schemas|search-options)\.ts|indexer/(documents|search-index)\.ts|registry/(rebuild|refresh|check|config-document|derived-files|records|gc|json-schemas)\.ts)' |
  while read -r f; do printf '%6d %s\n' "$(git show "$rev:$f" | wc -l)" "$f"; done |
  awk -v v="$2" '{ t += $1; if (v == "-v") print } END { printf "%6d total\n", t }'
