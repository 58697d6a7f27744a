"""`sociallearn review-lessons`: the data owner's review from a terminal, through the teacher
service's review API on this machine (`serve-teacher --review`; `apps.review_app`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import httpx

DEFAULT_SERVICE = "http://127.0.0.1:8101"


def service_client(url: str) -> httpx.Client:
    """A client of the service at `url` (the tests swap in one bound to the app)."""
    return httpx.Client(base_url=url, timeout=60)


def cmd_review_lessons(args: argparse.Namespace) -> int:
    """List, approve, edit or reject held lessons, or show the decisions made."""
    if args.action in ("list", "history"):
        which = "pending" if args.action == "list" else "history"
        lessons = call(args.service, "GET", which)[which]
        if args.json:
            print(json.dumps(lessons, indent=2))
        elif not lessons:
            print("no lesson waits for review" if which == "pending" else "no decision yet")
        else:
            print("\n".join(describe(lesson) for lesson in lessons))
        return 0
    body: dict[str, str] = {}
    if args.action == "edit":
        body = {"text": Path(args.text_file).read_text(encoding="utf-8")}
    elif args.action == "reject":
        body = {"reason": args.reason}
    lesson = call(args.service, "POST", f"lessons/{args.id}/{args.action}", body)["lesson"]
    print(f"lesson {lesson['id']}: {lesson['status']}")
    return 0


def call(service: str, method: str, path: str, body: dict[str, str] | None = None) -> Any:
    """The review API's answer; a RuntimeError saying what went wrong otherwise."""
    try:
        with service_client(service) as client:
            answer = client.request(method, f"/review/api/{path}", json=body)
    except httpx.HTTPError as exc:
        raise RuntimeError(
            f"no teacher service answers at {service} ({type(exc).__name__}): is it running, "
            "with --review, on this machine?"
        ) from None
    try:
        payload = answer.json()
    except ValueError:
        payload = {}
    if answer.status_code != 200 or not isinstance(payload, dict):
        reason = payload.get("error") if isinstance(payload, dict) else None
        raise RuntimeError(f"{service}: {reason or f'HTTP {answer.status_code}'}")
    return payload


def describe(lesson: dict[str, Any]) -> str:
    """One held lesson for the terminal: what, from where, the filter's verdict, the text."""
    verdict = lesson["verdict"]
    redacted = ", ".join(f"{kind}×{n}" for kind, n in sorted(verdict["redactions"].items()))
    head = (
        f"[{lesson['id']}] {lesson['status']} {lesson['kind']} from {lesson['teacher_id']}, "
        f"run {lesson['run_id']}, for {lesson['coordinator']}; filter: "
        f"{'passed' if verdict['passed'] else 'rejected'}"
        f"{f', redacted {redacted}' if redacted else ''}"
    )
    if lesson["reason"]:
        head += f"; reason: {lesson['reason']}"
    text = lesson["released_text"] if lesson["status"] == "edited" else lesson["text"]
    return head + "\n" + "\n".join(f"    {line}" for line in text.splitlines()) + "\n"


def add_review_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    review = sub.add_parser(
        "review-lessons",
        help="approve, edit or reject the lessons a teacher service holds for its owner "
        "(serve-teacher --review), from the owner's machine",
    )
    review.add_argument(
        "--service", default=DEFAULT_SERVICE, help=f"the service's URL (default: {DEFAULT_SERVICE})"
    )
    actions = review.add_subparsers(dest="action", required=True)
    for name, help_text in (("list", "the lessons waiting"), ("history", "the decisions made")):
        listing = actions.add_parser(name, help=help_text)
        listing.add_argument("--json", action="store_true", help="print the API's JSON")
    approve = actions.add_parser("approve", help="release a lesson as it is")
    edit = actions.add_parser("edit", help="release your text instead, if the filter passes it")
    edit.add_argument("--text-file", type=Path, required=True, help="a file with the new text")
    reject = actions.add_parser("reject", help="never release a lesson")
    reject.add_argument("--reason", required=True, help="why (stays on this machine)")
    for action in (approve, edit, reject):
        action.add_argument("id", type=int, help="the lesson's number (see list)")
    review.set_defaults(func=cmd_review_lessons)
