"""A bare Litestar app with the same stack (uvicorn, msgspec), as the framework baseline."""

from __future__ import annotations

import sys

import msgspec
import uvicorn
from litestar import Litestar, get, post


class Body(msgspec.Struct, forbid_unknown_fields=True):
    content: str
    platforms: list[str]


class Out(msgspec.Struct):
    id: str
    content: str
    platforms: list[str]
    status: str


@get("/bare/{item_id:str}")
async def read(item_id: str) -> Out:
    return Out(item_id, "hello", ["mastodon"], "draft")


@post("/bare")
async def create(data: Body) -> Out:
    return Out("post_x", data.content, data.platforms, "draft")


app = Litestar([read, create], logging_config=None, openapi_config=None)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
