"""What a start leaves out, loaded in a worker thread right after it.

A start imports only what the first answer needs. aiohttp (~0.25 s: most of it loading
the system CA bundle, twice), `cryptography` (~60 ms, a large native module) and Jinja2
(~30-70 ms) are needed by the first publish, webhook, credential or dashboard page, so
`Services.start_background` loads them here, with the text rules of the platforms that have an account
(`platforms.registry.prepare`), while the server already answers. Whatever has not
loaded yet when it is first needed is imported there and then.
"""

from __future__ import annotations

import importlib
import logging

from octopost.platforms.registry import prepare

#: imported on first use, loaded here ahead of it
LIBRARIES = ("aiohttp", "cryptography.fernet", "jinja2", "litestar.plugins.jinja")


def ahead_of_need(platforms: list[str]) -> None:
    """Load the libraries, then the text rules of `platforms`. Only ahead of need: a
    failure is logged and shows again at first use; it never fails a start or a stop."""
    for name in LIBRARIES:
        try:
            importlib.import_module(name)
        except Exception:
            logging.getLogger("octopost").exception("could not load %s ahead of use", name)
    prepare(platforms)
