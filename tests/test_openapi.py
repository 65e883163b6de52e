"""The API description tells the truth, and the docs page works with no internet."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from octopost.models import ERROR_CATEGORIES, PLATFORM_IDS, PostStatus
from octopost.platforms import errors as platform_errors
from octopost.posts import MAX_OFFSET
from octopost.webhooks import EVENT_TYPES
from tests.helpers import Api

METHODS = ("get", "put", "post", "delete")


async def _doc(api: Api) -> dict[str, Any]:
    resp = await api.client.get("/schema/openapi.json")
    assert resp.status_code == 200
    return resp.json()  # type: ignore[no-any-return]


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


async def test_every_route_documents_its_errors_in_the_real_shape(api: Api) -> None:
    doc = await _doc(api)
    for path, method, operation in _operations(doc):
        if not path.startswith("/v1/"):
            continue
        responses = operation["responses"]
        for status in ("400", "401", "405", "500"):
            assert status in responses, (method, path, status)
        for status, response in responses.items():
            if int(status) >= 400:
                content = response["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
                example = next(iter(content["examples"].values()))["value"]
                assert set(example["error"]) == {"code", "message", "details", "request_id"}
                assert "status_code" not in str(example)  # not Litestar's own shape
        if "{post_id}" in path or "{webhook_id}" in path or "{account_id}" in path:
            assert "404" in responses, (method, path)
        if method in ("post", "put"):
            assert {"413", "415"} <= set(responses), (method, path)
    accounts = doc["paths"]["/v1/accounts/{account_id}"]
    assert "403" in accounts["delete"]["responses"]
    assert {"403", "422", "502"} <= set(doc["paths"]["/v1/accounts"]["post"]["responses"])
    assert "409" in doc["paths"]["/v1/posts/{post_id}"]["put"]["responses"]


async def test_the_documented_errors_are_the_ones_given(api: Api) -> None:
    _, sandbox = await api.services.keys.create("s", sandbox=True)
    assert (await api.delete("/v1/accounts/acc_x", key=sandbox)).status_code == 403
    assert (await api.client.get("/v1/accounts")).status_code == 401
    assert (await api.client.get("/v1/webhooks")).status_code == 401


async def test_enums_formats_and_limits_are_stated(api: Api) -> None:
    doc = await _doc(api)
    schemas = doc["components"]["schemas"]
    create = schemas["CreatePostRequest"]
    assert create["additionalProperties"] is False
    assert create["properties"]["platforms"]["items"]["enum"] == list(PLATFORM_IDS)
    assert create["properties"]["content"]["maxLength"] == 100_000
    assert "date-time" in str(create["properties"]["scheduled_for"])
    for name in (
        "UpdatePostRequest",
        "CreateWebhookRequest",
        "UpdateWebhookRequest",
        "ConnectAccountRequest",
        "RetryRequest",
        "Media",
        "Image",
        "Video",
    ):
        assert schemas[name]["additionalProperties"] is False, name
    post = schemas["PostResponse"]["properties"]
    assert post["status"]["enum"] == [s.value for s in PostStatus]
    for field in ("created_at", "updated_at"):
        assert post[field]["format"] == "date-time"
    result = schemas["PlatformResult"]["properties"]
    assert result["error_category"]["anyOf"][0]["enum"] == list(ERROR_CATEGORIES)
    hook = schemas["CreateWebhookRequest"]["properties"]
    assert hook["events"]["items"]["enum"] == list(EVENT_TYPES)
    assert hook["url"]["maxLength"] == 2048
    assert schemas["Image"]["properties"]["url"]["format"] == "uri"
    params = {p["name"]: p for p in doc["paths"]["/v1/posts"]["get"]["parameters"]}
    assert (params["limit"]["schema"]["minimum"], params["limit"]["schema"]["maximum"]) == (1, 100)
    assert params["offset"]["schema"]["maximum"] == MAX_OFFSET
    assert set(params["status"]["schema"]["enum"]) == {s.value for s in PostStatus}


def test_every_error_category_is_in_the_enum() -> None:
    categories = {
        cls.category
        for cls in vars(platform_errors).values()
        if isinstance(cls, type) and issubclass(cls, platform_errors.PlatformError)
    } | {"network"}
    assert categories == set(ERROR_CATEGORIES)


async def test_healthz_needs_no_security_and_examples_stay_valid(api: Api) -> None:
    doc = await _doc(api)
    assert doc["paths"]["/healthz"]["get"]["security"] == []
    assert doc["security"] == [{"ApiKey": []}]
    create = doc["paths"]["/v1/posts"]["post"]["requestBody"]["content"]["application/json"]
    now = datetime.now(UTC)
    examples = create["schema"]["examples"]
    assert any("scheduled_for" in example for example in examples)
    for example in examples:
        when = example.get("scheduled_for")
        if when:
            assert datetime.fromisoformat(when.replace("Z", "+00:00")) > now
        # and the server takes it: "Try it out" works
        resp = await api.post("/v1/posts", example)
        assert resp.status_code == 201, resp.text


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.refs.append(value)


async def test_the_docs_page_loads_only_from_this_server(api: Api) -> None:
    for page in ("/schema", "/schema/swagger"):
        resp = await api.client.get(page)
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
        html = resp.text
        parser = _Refs()
        parser.feed(html)
        urls = parser.refs + re.findall(r'url:\s*"([^"]+)"', html)
        assert len(urls) >= 4, urls
        assert not re.search(r"(?i)(https?:)?//", html), "the page names an external URL"
        assert "validatorUrl: null" in html  # Swagger UI would call an online validator
        for url in urls:
            assert url.startswith("/"), url
            asset = await api.client.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 100, url
        css = (await api.client.get("/schema/assets/swagger-ui.css")).text
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", css), "the stylesheet loads from afar"
        bundle = await api.client.get("/schema/assets/swagger-ui-bundle.js")
        assert bundle.headers["content-type"].startswith("text/javascript")
        assert b"SwaggerUIBundle" in bundle.content
    assert (await api.client.get("/schema/assets/../secret.key")).status_code == 404
    assert (await api.client.get("/schema/assets/swagger-editor.js")).status_code == 404
