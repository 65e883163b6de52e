"""The dashboard's template engine, made by the first page rendered.

Jinja2 (and Litestar's engine over it) costs ~30-70 ms of a start; no API answer needs
it, so `LazyJinja` stands in for Litestar's `JinjaTemplateEngine` and builds it at the
first `get_template` (the warm-up after start imports jinja2 ahead of that,
`octopost.warmup`). Template callables Litestar registers before then are handed over.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


class LazyJinja:
    """Litestar's TemplateEngineProtocol, over an engine made on first use."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._engine: Any = None
        self._callables: list[tuple[str, Callable[..., Any]]] = []

    def _get(self) -> Any:
        if self._engine is None:
            engine = self._make()
            for key, template_callable in self._callables:
                engine.register_template_callable(key, template_callable)
            self._engine = engine
        return self._engine

    def get_template(self, template_name: str) -> Any:
        return self._get().get_template(template_name)

    def render_string(self, template_string: str, context: Mapping[str, Any]) -> str:
        rendered: str = self._get().render_string(template_string, context)
        return rendered

    def register_template_callable(self, key: str, template_callable: Callable[..., Any]) -> None:
        if self._engine is not None:
            self._engine.register_template_callable(key, template_callable)
        else:
            self._callables.append((key, template_callable))
