"""Examples from the seed API document, shown in the OpenAPI page.

A scheduled time must lie in the future, so the scheduling examples use a date
computed when the process starts (the first of a month, 30 to 60 days ahead):
"Try it out" with them is accepted for weeks after any restart.
"""

from __future__ import annotations

from datetime import timedelta

from litestar.openapi.spec import Example

from octopost.models import iso, utcnow


def _future() -> str:
    ahead = utcnow() + timedelta(days=60)
    return iso(ahead.replace(day=1, hour=9, minute=0, second=0, microsecond=0)) or ""


SCHEDULED_FOR = _future()

_RESULTS = {
    "twitter": {
        "success": True,
        "post_id": "1234567890",
        "post_url": "https://x.com/user/status/1234567890",
    },
    "bluesky": {
        "success": True,
        "post_id": "at://did:plc:abc/app.bsky.feed.post/xyz",
        "post_url": "https://bsky.app/profile/user.bsky.social/post/xyz",
    },
}

POST_OBJECT = {
    "id": "post_abc123",
    "content": "Check out our new feature launch!",
    "platforms": ["twitter", "bluesky", "linkedin"],
    "status": "published",
    "scheduled_for": None,
    "media": {
        "images": [
            {
                "url": "https://cdn.octopost.ink/uploads/img_001.png",
                "alt_text": "Screenshot of the new dashboard",
            }
        ],
        "video": None,
    },
    "platform_results": {
        **_RESULTS,
        "linkedin": {"success": False, "error": "Token expired. Reconnect your LinkedIn account."},
    },
    "created_at": "2026-04-03T12:00:00Z",
    "updated_at": "2026-04-03T12:05:00Z",
    "published_at": "2026-04-03T12:05:00Z",
    "language": "en",
}

CREATE_DRAFT = {
    "content": "Excited to announce our Series A!",
    "platforms": ["twitter", "linkedin", "bluesky"],
}
CREATED_DRAFT = {
    "id": "post_def456",
    "content": "Excited to announce our Series A!",
    "platforms": ["twitter", "linkedin", "bluesky"],
    "status": "draft",
    "scheduled_for": None,
    "media": None,
    "platform_results": None,
    "created_at": "2026-04-03T14:00:00Z",
    "updated_at": "2026-04-03T14:00:00Z",
    "published_at": None,
    "language": None,
}
CREATE_SCHEDULED = {
    "content": "New blog post: Building a cross-posting API",
    "platforms": ["twitter", "bluesky"],
    "scheduled_for": SCHEDULED_FOR,
    "language": "en",
    "media": {
        "images": [
            {"url": "https://example.com/blog-header.png", "alt_text": "Blog post header image"}
        ]
    },
}
CREATED_SCHEDULED = {
    "id": "post_ghi789",
    "content": "New blog post: Building a cross-posting API",
    "platforms": ["twitter", "bluesky"],
    "status": "scheduled",
    "scheduled_for": SCHEDULED_FOR,
    "media": {
        "images": [
            {"url": "https://example.com/blog-header.png", "alt_text": "Blog post header image"}
        ],
        "video": None,
    },
    "platform_results": None,
    "created_at": "2026-04-03T14:00:00Z",
    "updated_at": "2026-04-03T14:00:00Z",
    "published_at": None,
    "language": "en",
}
LISTED = {
    "posts": [
        {
            "id": "post_abc123",
            "content": "Check out our new feature launch!",
            "platforms": ["twitter", "bluesky"],
            "status": "published",
            "scheduled_for": None,
            "media": None,
            "platform_results": _RESULTS,
            "created_at": "2026-04-03T12:00:00Z",
            "updated_at": "2026-04-03T12:05:00Z",
            "published_at": "2026-04-03T12:05:00Z",
            "language": None,
        }
    ],
    "total": 42,
}
GOT = LISTED["posts"][0]  # type: ignore[index]
UPDATE = {
    "content": "Excited to announce our Series A! Read more on our blog.",
    "platforms": ["twitter", "linkedin", "bluesky", "threads"],
}
UPDATED = {
    "id": "post_def456",
    "content": "Excited to announce our Series A! Read more on our blog.",
    "platforms": ["twitter", "linkedin", "bluesky", "threads"],
    "status": "draft",
    "scheduled_for": None,
    "media": None,
    "platform_results": None,
    "created_at": "2026-04-03T14:00:00Z",
    "updated_at": "2026-04-03T14:10:00Z",
    "published_at": None,
    "language": None,
}
PUBLISHING = {**UPDATED, "status": "publishing", "updated_at": "2026-04-03T14:15:00Z"}
ERROR = {
    "error": {
        "code": "validation_error",
        "message": "Invalid post: platforms[1]: unknown platform 'myspace'",
        "details": [{"field": "platforms[1]", "message": "unknown platform 'myspace'"}],
        "request_id": "3f2a9c1b7d4e8f60",
    }
}


def ex(summary: str, value: object) -> Example:
    return Example(summary=summary, value=value)
