#!/bin/bash
# The README's module table (## Architecture) names every file of
# component/*.c, and nothing else.
cd "$(dirname "$0")/.." || exit 1
table=$(sed -n '/^## Architecture/,/^## /p' README.md |
        grep -o '^| `component/[a-z_]*\.c`' | sed 's/^| `//; s/`$//' | sort)
tree=$(ls component/*.c | sort)
if [ "$table" != "$tree" ]; then
    echo "README module table and component/ differ:"
    diff <(echo "$table") <(echo "$tree") 2>/dev/null ||
        { echo "table: $table"; echo "tree: $tree"; }
    exit 1
fi
echo "README module table: $(echo "$tree" | wc -l) files, all present"
