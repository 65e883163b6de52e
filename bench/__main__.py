"""Run every benchmark: python -m bench [api|publish]."""

from __future__ import annotations

import asyncio
import sys

from bench import api, publish


def main() -> None:
    which = sys.argv[1:] or ["api", "publish"]
    if "api" in which:
        asyncio.run(api.main())
    if "publish" in which:
        asyncio.run(publish.main())


main()
