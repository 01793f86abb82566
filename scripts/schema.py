"""Print (or check) the schema the migrations produce, as `table: column type` lines, for both backends.

python scripts/schema.py > src/dlrhub/store/schema.txt     # regenerate (make schema)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile

from dlrhub.store import schema_dump


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sys.stdout.write(await schema_dump.snapshot(f"{tmp}/schema.sqlite3"))


if __name__ == "__main__":
    asyncio.run(main())
