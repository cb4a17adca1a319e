#!/bin/bash
# The module table of doc/architecture.md (## Modules) names every file of
# component/*.c, and nothing else.  (It was the README's table until the
# docs were split by reader; the ctest keeps its name, readme_modules.)
cd "$(dirname "$0")/.." || exit 1
doc=doc/architecture.md
if [ ! -f "$doc" ]; then
    echo "$doc: missing"
    exit 1
fi
table=$(sed -n '/^## Modules/,/^## /p' "$doc" |
        grep -o '^| `component/[a-z_0-9]*\.c`' | sed 's/^| `//; s/`$//' | sort)
tree=$(ls component/*.c | sort)
if [ -z "$table" ]; then
    echo "$doc: no module table under '## Modules'"
    exit 1
fi
if [ "$table" != "$tree" ]; then
    echo "$doc module table and component/ differ (< table, > tree):"
    diff <(echo "$table") <(echo "$tree")
    exit 1
fi
echo "$doc module table: $(echo "$tree" | wc -l) files, all present"
