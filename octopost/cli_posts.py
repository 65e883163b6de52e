"""`octopost posts create|list|get|update|delete|publish|validate|retry`: the API from a shell.

Every command is one API call (or a poll, for `--wait`) through octopost.client to a
running server; octopost.endpoint says where it is and which key to use. Human
output by default, `--json` prints the API's answer as it is.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TextIO

import msgspec

from octopost.client import ApiError, Client, HttpTransport, UnreachableError, outcomes
from octopost.endpoint import CREDENTIALS_ENV, KEY_ENV, URL_ENV, EndpointError, resolve

#: exit codes (also in `octopost posts --help` and the README)
OK, FAILED, USAGE, UNREACHABLE, NOT_FINAL = 0, 1, 2, 3, 4
EXIT_CODES = f"""exit codes:
  {OK}  done (publish/retry --wait: every platform succeeded; validate: the post would publish)
  {FAILED}  the API refused the request, a platform failed, or validate found problems
  {USAGE}  bad arguments, config or credentials
  {UNREACHABLE}  the server could not be reached
  {NOT_FINAL}  --wait ran out of time while the post was still publishing

server and key: --url, else ${URL_ENV}, else the credentials file, else the config's
server.host/port; the key from ${KEY_ENV} or the credentials file (${CREDENTIALS_ENV}, default
~/.config/octopost/credentials.toml, mode 0600, holding url = "..." and key = "...")."""

Work = Callable[[Client, argparse.Namespace], Awaitable[int]]


def _err(message: str) -> None:
    print(f"octopost: {message}", file=sys.stderr)


def _json(data: Any) -> None:
    print(msgspec.json.format(msgspec.json.encode(data), indent=2).decode())


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=out)


def show_post(post: dict[str, Any], out: TextIO = sys.stdout) -> None:
    print(f"{post['id']}  {post['status']}", file=out)
    times = [f"created {post['created_at']}"]
    if post.get("scheduled_for"):
        times.append(f"scheduled for {post['scheduled_for']}")
    if post.get("published_at"):
        times.append(f"published {post['published_at']}")
    print("  " + " · ".join(times), file=out)
    print(f"  {_one_line(post.get('content', ''), 72)}", file=out)
    media = post.get("media") or {}
    if media.get("images"):
        print(f"  images: {len(media['images'])}", file=out)
    if media.get("video"):
        print(f"  video: {media['video'].get('url')}", file=out)
    rows = [(f"  {p}", state, detail) for p, state, detail in outcomes(post)]
    if rows:
        table(rows, out)


def failed_platforms(post: dict[str, Any]) -> list[str]:
    return [p for p, state, _ in outcomes(post) if state == "failed"]


# --- the body of create / update / validate, from the arguments ----------------------


def _content(args: argparse.Namespace, *, required: bool) -> str | None:
    if args.file is not None and args.content is not None:
        raise EndpointError("give the content as an argument or with --file, not both")
    if args.file is not None and args.file != "-":
        try:
            with open(args.file, encoding="utf-8") as fh:
                return _text(fh.read())
        except OSError as exc:
            raise EndpointError(f"cannot read {args.file}: {exc.strerror}") from exc
    source: str | None = args.file or args.content
    if source is None and required and not sys.stdin.isatty():
        source = "-"  # piped in: `echo hi | octopost posts create --platform mastodon`
    if source == "-":
        return _text(sys.stdin.read())
    return source


def _text(read: str) -> str:
    """Text read from a file or stdin, without the newline(s) a text file ends with."""
    return read.rstrip("\r\n")


def _media(args: argparse.Namespace) -> dict[str, Any] | None:
    if not args.image and not args.video:
        return None
    if len(args.alt) > len(args.image):
        raise EndpointError("more --alt than --image (each --alt describes the --image before it)")
    media: dict[str, Any] = {}
    if args.image:
        media["images"] = [
            {"url": url, **({"alt_text": args.alt[i]} if i < len(args.alt) else {})}
            for i, url in enumerate(args.image)
        ]
    if args.video:
        media["video"] = {"url": args.video}
    return media


def _body(args: argparse.Namespace, *, partial: bool) -> dict[str, Any]:
    body: dict[str, Any] = {}
    content = _content(args, required=not partial)
    if content is not None:
        body["content"] = content
    if args.platform or not partial:
        body["platforms"] = args.platform
    if args.schedule is not None:
        body["scheduled_for"] = args.schedule
    elif getattr(args, "unschedule", False):
        body["scheduled_for"] = None
    if args.language is not None:
        body["language"] = args.language
    if args.thread is not None:
        body["thread"] = args.thread
    if args.thread_marker:
        body["thread_marker"] = True
    media = _media(args)
    if media is not None:
        body["media"] = media
    elif getattr(args, "no_media", False):
        body["media"] = None
    return body


def _say_schedule(args: argparse.Namespace, post: dict[str, Any]) -> None:
    stored = post.get("scheduled_for")
    if args.schedule is not None and stored:
        given = "" if args.schedule == stored else f" (you gave {args.schedule})"
        print(f"Scheduled for {stored} UTC{given}")


# --- the commands -----------------------------------------------------------------


async def cmd_create(client: Client, args: argparse.Namespace) -> int:
    post = await client.create_post(_body(args, partial=False))
    if args.json:
        _json(post)
        return OK
    print(f"Created {post['status']} post {post['id']}")
    _say_schedule(args, post)
    return OK


async def cmd_update(client: Client, args: argparse.Namespace) -> int:
    changes = _body(args, partial=True)
    if not changes:
        raise EndpointError("nothing to change: give content, --platform, --schedule, media...")
    post = await client.update_post(args.id, changes)
    if args.json:
        _json(post)
        return OK
    print(f"Updated post {post['id']} ({post['status']})")
    _say_schedule(args, post)
    return OK


async def cmd_list(client: Client, args: argparse.Namespace) -> int:
    page = await client.list_posts(status=args.status, limit=args.limit, offset=args.offset)
    if args.json:
        _json(page)
        return OK
    posts = page["posts"]
    if not posts:
        print("No posts" + (f" with status {args.status}" if args.status else ""))
        return OK
    rows = [("ID", "STATUS", "PLATFORMS", "WHEN", "CONTENT")]
    for post in posts:
        when = post.get("published_at") or post.get("scheduled_for") or post["created_at"]
        rows.append(
            (
                post["id"],
                post["status"],
                ",".join(post["platforms"]),
                when,
                _one_line(post["content"], 40),
            )
        )
    table(rows, sys.stdout)
    if page["total"] > len(posts):
        first = args.offset + 1
        print(f"{first}-{args.offset + len(posts)} of {page['total']} posts (--offset for more)")
    return OK


async def cmd_get(client: Client, args: argparse.Namespace) -> int:
    post = await client.get_post(args.id)
    if args.json:
        _json(post)
    else:
        show_post(post)
    return OK


async def cmd_delete(client: Client, args: argparse.Namespace) -> int:
    await client.delete_post(args.id)
    if args.json:
        _json({"deleted": args.id})
    else:
        print(f"Deleted post {args.id} (from Octopost; anything published stays on the platforms)")
    return OK


async def _outcome(client: Client, args: argparse.Namespace, post: dict[str, Any]) -> int:
    if args.wait:
        post = await client.wait_final(post, timeout=args.timeout)
    if args.json:
        _json(post)
    else:
        show_post(post)
    if not args.wait:
        return OK
    if post["status"] == "publishing":
        _err(
            f"still publishing after {args.timeout:g} s; see later with: "
            f"octopost posts get {post['id']}"
        )
        return NOT_FINAL
    failed = failed_platforms(post)
    if failed or post["status"] == "failed":
        for platform, _state, detail in outcomes(post):
            if platform in failed:
                _err(f"{platform} failed: {detail}")
        return FAILED
    return OK


async def cmd_publish(client: Client, args: argparse.Namespace) -> int:
    return await _outcome(client, args, await client.publish(args.id))


async def cmd_retry(client: Client, args: argparse.Namespace) -> int:
    return await _outcome(
        client,
        args,
        await client.retry(args.id, {"platforms": args.platform} if args.platform else None),
    )


async def cmd_validate(client: Client, args: argparse.Namespace) -> int:
    if args.id is not None:
        report = await client.validate(post_id=args.id)
    else:
        report = await client.validate(_body(args, partial=False))
    if args.json:
        _json(report)
        return OK if report["valid"] else FAILED
    rows = []
    for platform, check in report["platforms"].items():
        state = "ok" if check["ok"] else "FAIL"
        problems = " ".join(check.get("problems") or [])
        account = check.get("account", "")
        note = problems or (f"account {account}" if account else "")
        mode = check.get("mode", "single")
        if mode != "single":  # a thread here, or what a thread becomes without threads
            note = f"[{mode}] {note}"
        rows.append((platform, state, f"{check['length']}/{check['limit']}", note))
        segments = check.get("segments") or []
        for i, segment in enumerate(segments):  # the preview of the split
            rows.append(
                (
                    f"  {i + 1}/{len(segments)}",
                    "ok" if segment["ok"] else "FAIL",
                    f"{segment['length']}/{segment['limit']}",
                    _one_line(segment["content"], 50),
                )
            )
    table(rows, sys.stdout)
    print("Would publish." if report["valid"] else "Would NOT publish; nothing was sent.")
    return OK if report["valid"] else FAILED


def run(args: argparse.Namespace) -> int:
    """Resolve the endpoint, run one command, turn errors into messages and exit codes."""
    work: Work = args.work
    try:
        endpoint = resolve(url=args.url, config_path=args.config)
    except EndpointError as exc:
        _err(str(exc))
        return USAGE

    async def session() -> int:
        client = Client(HttpTransport(endpoint.url, endpoint.key))
        try:
            return await work(client, args)
        finally:
            await client.close()

    try:
        return asyncio.run(session())
    except EndpointError as exc:
        _err(str(exc))
        return USAGE
    except ApiError as exc:
        lines = exc.lines()
        _err(lines[0])
        for line in lines[1:]:
            print(f"  {line}", file=sys.stderr)
        return FAILED
    except UnreachableError as exc:
        _err(f"{exc} (is `octopost serve` running there?)")
        return UNREACHABLE


def _content_options(p: argparse.ArgumentParser, *, partial: bool) -> None:
    p.add_argument(
        "content",
        nargs="?",
        help="the text ('-' reads stdin)" + ("" if partial else "; piped stdin when omitted"),
    )
    p.add_argument("--file", metavar="PATH", help="read the text from PATH ('-': stdin)")
    p.add_argument(
        "--platform",
        action="append",
        default=[],
        metavar="ID",
        help="a target platform (repeatable)" + (": replaces the list" if partial else ""),
    )
    p.add_argument(
        "--schedule",
        metavar="TIME",
        help="publish at this RFC 3339 time, e.g. 2030-01-01T09:00:00+01:00 (stored in UTC)",
    )
    p.add_argument("--image", action="append", default=[], metavar="URL", help="an image URL")
    p.add_argument(
        "--alt", action="append", default=[], metavar="TEXT", help="alt text of the n-th --image"
    )
    p.add_argument("--video", metavar="URL", help="a video URL")
    p.add_argument("--language", metavar="TAG", help="the post's BCP 47 language, e.g. en, pt-BR")
    p.add_argument(
        "--thread",
        choices=("auto", "off"),
        help="auto: split the text into a thread where it is too long (at '---' lines, then "
        "paragraphs, sentences, words), by each platform's own count; `posts validate` "
        "shows the split",
    )
    p.add_argument(
        "--thread-marker", action="store_true", help='end each post of a thread with "i/n"'
    )


Command = Callable[[str, Work, str], argparse.ArgumentParser]


def client_group(sub: Any, name: str, help_text: str, description: str) -> Command:
    """A command group that talks to a running server (`posts`, `accounts`): returns the
    function that adds one command to it, with the options every such command takes."""
    group = sub.add_parser(
        name,
        help=help_text,
        description=description,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    group.set_defaults(func=lambda _: (group.print_help(), OK)[1])
    commands = group.add_subparsers(dest=f"{name}_command", metavar="COMMAND")

    def command(command_name: str, work: Work, command_help: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = commands.add_parser(
            command_name,
            help=command_help,
            epilog=EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument("--url", help=f"the server (default: ${URL_ENV}, credentials, config)")
        p.add_argument("--config", help="TOML config whose server.host/port give the URL")
        p.add_argument("--json", action="store_true", help="print the API's JSON answer")
        p.set_defaults(func=run, work=work)
        return p

    return command


def add_parser(sub: Any) -> None:
    """The `posts` command group (called by octopost.cli.build_parser)."""
    command = client_group(
        sub,
        "posts",
        "create, list, publish... posts on a running server",
        "Posts through the API of a running Octopost.",
    )

    create = command("create", cmd_create, "create a draft (or a scheduled post)")
    _content_options(create, partial=False)

    update = command("update", cmd_update, "change a draft or scheduled post")
    update.add_argument("id")
    _content_options(update, partial=True)
    update.add_argument("--unschedule", action="store_true", help="back to draft")
    update.add_argument("--no-media", action="store_true", help="remove the media")

    listing = command("list", cmd_list, "list posts, newest first (a table)")
    listing.add_argument("--status", help="draft, scheduled, publishing, published or failed")
    listing.add_argument("--limit", type=int, default=20, help="posts per page (1-100)")
    listing.add_argument("--offset", type=int, default=0, help="posts to skip")

    get = command("get", cmd_get, "one post, a line per platform with its link or error")
    get.add_argument("id")

    delete = command("delete", cmd_delete, "delete a post from Octopost")
    delete.add_argument("id")

    for name, work, text in (
        ("publish", cmd_publish, "publish a post now (for real, unless the key is a sandbox key)"),
        ("retry", cmd_retry, "publish again what failed"),
    ):
        p = command(name, work, text)
        p.add_argument("id")
        if name == "retry":
            p.add_argument(
                "--platform", action="append", default=[], metavar="ID", help="only these"
            )
        p.add_argument(
            "--wait",
            action="store_true",
            help="wait until the post is final; exit 1 if any platform failed",
        )
        p.add_argument(
            "--timeout", type=float, default=300.0, help="seconds --wait waits (default 300)"
        )

    validate = command("validate", cmd_validate, "dry run: would it publish? (nothing is sent)")
    validate.add_argument("--id", help="check a stored post instead of the given content")
    _content_options(validate, partial=False)
