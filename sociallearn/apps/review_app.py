"""The data owner's review page and its JSON API, served beside the teacher service's graph.

`serve-teacher --review` hands `app` to LangGraph's server as its custom routes (`http.app`):

- GET /review: the page (no build step, nothing fetched from elsewhere): the lessons waiting,
  each with its teacher, run, coordinator and the filter's verdict, with Approve, Edit and
  Reject controls, and the history of decisions;
- GET /review/api/pending, GET /review/api/history: the same as JSON;
- POST /review/api/lessons/{id}/approve, .../edit {"text": ...}, .../reject {"reason": ...}.

Only the owner may use them: a client on this machine (loopback, not through a proxy, under a
loopback host name), without a coordinator's token; a POST only as application/json, and
nothing from a page of another origin (CSRF, DNS rebinding). LangGraph's auth does not cover
these routes, so no coordinator's token opens them.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from sociallearn.stores.reviews import HeldLesson
from sociallearn.teaching.owner_review import (
    AlreadyDecided,
    EditRefused,
    OwnerReview,
    UnknownLesson,
)

Endpoint = Callable[[Request], Awaitable[Response]]
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip")

STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem;
       color: #1b1b1b; background: #fff; }
h1 { font-size: 1.6rem; margin-bottom: 0.25rem; }
.lesson { border: 1px solid #8a8a8a; border-radius: 6px; padding: 0.75rem 1rem; margin: 1rem 0; }
.lesson h3 { margin: 0 0 0.5rem; font-size: 1.1rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.1rem 1rem; margin: 0.5rem 0; }
dt { font-weight: 600; }
dd { margin: 0; }
pre { white-space: pre-wrap; background: #f3f3f3; padding: 0.5rem; border-radius: 4px; }
textarea, input[type=text] { width: 100%; box-sizing: border-box; font: inherit; }
textarea { min-height: 5rem; }
label { display: block; font-weight: 600; margin-top: 0.75rem; }
button { font: inherit; padding: 0.3rem 0.9rem; margin-top: 0.4rem; border-radius: 4px;
         border: 1px solid #1b1b1b; background: #fff; cursor: pointer; }
button.approve { background: #0b6e2e; color: #fff; border-color: #0b6e2e; }
button.reject { background: #a4161a; color: #fff; border-color: #a4161a; }
:focus-visible { outline: 3px solid #1a5fb4; outline-offset: 2px; }
.error { color: #a4161a; font-weight: 600; }
#status { min-height: 1.5rem; font-weight: 600; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; border-bottom: 1px solid #c8c8c8; padding: 0.3rem; }
td:nth-child(-n+6) { white-space: nowrap; }
"""

SCRIPT = """
"use strict";
const api = (path, body) => fetch("/review/api/" + path, body === undefined ? {} : {
  method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
}).then(async (response) => {
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || response.statusText);
  return answer;
});
const element = (tag, text, attributes = {}) => {
  const made = document.createElement(tag);
  if (text !== undefined) made.textContent = text;
  for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, value);
  return made;
};
const say = (text) => { document.getElementById("status").textContent = text; };
const verdict = (v) => {
  const redacted = Object.entries(v.redactions).map(([kind, n]) => kind + " ×" + n).join(", ");
  const reasons = v.reasons.length ? "; " + v.reasons.join("; ") : "";
  return (v.passed ? "passed" : "rejected") + (redacted ? ", redacted " + redacted : ", nothing redacted") + reasons;
};
const when = (seconds) => seconds ? new Date(seconds * 1000).toLocaleString() : "";

function lessonItem(lesson) {
  const id = lesson.id;
  const item = element("li", undefined, {"class": "lesson", "id": "lesson-" + id});
  item.append(element("h3", "Lesson " + id + " (" + lesson.kind + ")", {"id": "title-" + id}));
  const facts = element("dl");
  for (const [name, value] of [["Teacher", lesson.teacher_id], ["Run", lesson.run_id],
      ["Coordinator", lesson.coordinator], ["Privacy filter", verdict(lesson.verdict)]]) {
    facts.append(element("dt", name), element("dd", value));
  }
  item.append(facts, element("pre", lesson.text, {"aria-label": "lesson " + id + " text"}));
  const error = element("p", "", {"class": "error", "role": "alert", "id": "error-" + id});
  const approve = element("button", "Approve", {"type": "button", "class": "approve",
    "aria-describedby": "title-" + id});
  approve.addEventListener("click", () => decide(id, "approve", {}, "approved"));
  const edit = element("textarea", undefined, {"id": "edit-" + id});
  edit.value = lesson.text;
  const save = element("button", "Save edit", {"type": "button", "aria-describedby": "title-" + id});
  save.addEventListener("click", () => decide(id, "edit", {text: edit.value}, "edited"));
  const reason = element("input", undefined, {"type": "text", "id": "reason-" + id});
  const reject = element("button", "Reject", {"type": "button", "class": "reject",
    "aria-describedby": "title-" + id});
  reject.addEventListener("click", () => decide(id, "reject", {reason: reason.value}, "rejected"));
  item.append(
    approve,
    element("label", "Edited text (checked again by the privacy filter)", {"for": "edit-" + id}), edit, save,
    element("label", "Reason for rejecting (stays on this machine)", {"for": "reason-" + id}), reason, reject,
    error);
  return item;
}

async function decide(id, action, body, done) {
  const error = document.getElementById("error-" + id);
  error.textContent = "";
  try {
    await api("lessons/" + id + "/" + action, body);
  } catch (failure) {
    error.textContent = failure.message;
    say("Lesson " + id + " is still waiting (the reason is under it).");
    return;
  }
  const item = document.getElementById("lesson-" + id);
  const next = item.nextElementSibling || item.previousElementSibling;
  item.remove();
  (next ? next.querySelector("button") : document.getElementById("pending-title")).focus();
  say("Lesson " + id + " " + done + ".");
  await refresh();
}

async function refresh() {
  const [{pending}, {history}] = await Promise.all([api("pending"), api("history")]);
  const list = document.getElementById("pending");
  const waiting = new Set(pending.map((lesson) => "lesson-" + lesson.id));
  for (const item of [...list.children]) if (!waiting.has(item.id)) item.remove();
  for (const lesson of pending) {
    if (!document.getElementById("lesson-" + lesson.id)) list.append(lessonItem(lesson));
  }
  document.getElementById("pending-count").textContent = pending.length;
  document.getElementById("none-pending").hidden = pending.length > 0;
  const rows = document.getElementById("history-rows");
  rows.replaceChildren(...history.map((lesson) => {
    const row = element("tr");
    for (const value of [lesson.id, lesson.status, when(lesson.decided_at), lesson.teacher_id,
        lesson.run_id, lesson.coordinator, lesson.released_text ?? "(nothing left)", lesson.reason]) {
      row.append(element("td", String(value)));
    }
    return row;
  }));
}

refresh().catch((failure) => say("Could not load the lessons: " + failure.message));
setInterval(() => refresh().catch(() => {}), 10000);
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lessons waiting for your review</title>
<style>{style}</style>
</head>
<body>
<header>
<h1>Lessons waiting for your review</h1>
<p>Your teacher drafted these lessons from your data and the privacy filter passed them. None
has left this machine: approve, edit or reject each. An edit is checked again by the filter;
a rejection's reason stays here.</p>
</header>
<main>
<p id="status" role="status" aria-live="polite"></p>
<section aria-labelledby="pending-title">
<h2 id="pending-title" tabindex="-1">Waiting (<span id="pending-count">0</span>)</h2>
<p id="none-pending" hidden>No lesson is waiting.</p>
<ol id="pending" aria-labelledby="pending-title"></ol>
</section>
<section aria-labelledby="history-title">
<h2 id="history-title">Decisions</h2>
<table>
<thead><tr><th scope="col">Lesson</th><th scope="col">Decision</th><th scope="col">When</th>
<th scope="col">Teacher</th><th scope="col">Run</th><th scope="col">Coordinator</th>
<th scope="col">Text that left</th><th scope="col">Reason</th></tr></thead>
<tbody id="history-rows"></tbody>
</table>
</section>
</main>
<script>{script}</script>
</body>
</html>
"""


def _digest(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# Only the page's own inline style and script run; nothing loads from elsewhere or frames it.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; script-src {_digest(SCRIPT)}; style-src {_digest(STYLE)}; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def refusal(request: Request) -> JSONResponse | None:
    """Why `request` is not the owner's, as the answer to give it; None if it is."""
    client = request.client.host if request.client else ""
    try:
        on_this_machine = ipaddress.ip_address(client).is_loopback
    except ValueError:
        on_this_machine = False
    host = request.url.hostname or ""
    if not on_this_machine or host not in LOOPBACK_NAMES:
        return error(403, "the review answers only on the owner's machine (loopback)")
    if any(name in request.headers for name in PROXY_HEADERS):
        return error(403, "the review is not served through a proxy")
    if "authorization" in request.headers:
        return error(403, "a coordinator's token does not open the review")
    origin = request.headers.get("origin")
    own_origin = f"{request.url.scheme}://{request.url.netloc}"
    cross_site = request.headers.get("sec-fetch-site") in ("cross-site", "same-site")
    if (origin is not None and origin != own_origin) or cross_site:
        return error(403, "the review takes no request from another site")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method == "POST" and media_type != "application/json":
        return error(415, "send application/json")
    return None


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def review_app(current: Callable[[], OwnerReview | None]) -> Starlette:
    """The page and API over the review `current()` gives (None: the service has none)."""

    def owner_only(endpoint: Callable[[Request, OwnerReview], Awaitable[Response]]) -> Endpoint:
        """`endpoint` for the owner only (`refusal`), on the service's review."""

        async def guarded(request: Request) -> Response:
            if refused := refusal(request):
                return refused
            found = current()
            if found is None:
                return error(404, "this teacher service holds no lessons for review (--review)")
            return await endpoint(request, found)

        return guarded

    async def page(request: Request, review: OwnerReview) -> Response:
        return HTMLResponse(PAGE.format(style=STYLE, script=SCRIPT), headers=PAGE_HEADERS)

    async def pending(request: Request, review: OwnerReview) -> Response:
        held = await run_in_threadpool(review.pending)
        return JSONResponse({"pending": [lesson.as_json() for lesson in held]})

    async def history(request: Request, review: OwnerReview) -> Response:
        held = await run_in_threadpool(review.history)
        return JSONResponse({"history": [lesson.as_json() for lesson in held]})

    async def approve(request: Request, review: OwnerReview) -> Response:
        return await decide(lambda: review.approve(request.path_params["id"]))

    async def edit(request: Request, review: OwnerReview) -> Response:
        text = (await body_of(request)).get("text")
        if not isinstance(text, str):
            return error(400, 'an edit needs {"text": "..."}')
        return await decide(lambda: review.edit(request.path_params["id"], text))

    async def reject(request: Request, review: OwnerReview) -> Response:
        reason = (await body_of(request)).get("reason", "")
        if not isinstance(reason, str):
            return error(400, 'a rejection takes {"reason": "..."}')
        return await decide(lambda: review.reject(request.path_params["id"], reason))

    lesson = "/review/api/lessons/{id:int}"
    return Starlette(
        routes=[
            Route("/review", owner_only(page), methods=["GET"]),
            Route("/review/api/pending", owner_only(pending), methods=["GET"]),
            Route("/review/api/history", owner_only(history), methods=["GET"]),
            Route(f"{lesson}/approve", owner_only(approve), methods=["POST"]),
            Route(f"{lesson}/edit", owner_only(edit), methods=["POST"]),
            Route(f"{lesson}/reject", owner_only(reject), methods=["POST"]),
        ]
    )


async def body_of(request: Request) -> dict[str, Any]:
    """The request's JSON object (empty if it sent none or something else)."""
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def decide(decision: Callable[[], HeldLesson]) -> Response:
    """The owner's decision, taken off the server's event loop (an edit runs the filter)."""
    try:
        held = await run_in_threadpool(decision)
    except UnknownLesson as exc:
        return error(404, str(exc))
    except AlreadyDecided as exc:
        return error(409, str(exc))
    except EditRefused as exc:
        return error(422, str(exc))
    return JSONResponse({"lesson": held.as_json()})


def _service_review() -> OwnerReview | None:
    from sociallearn.teaching.service import current_service

    return current_service().review


app = review_app(_service_review)
