"""Access: open routes, routes for the staff and inspector tokens, 405 for anything but GET and HEAD.

The route table is tested on the worker's real web app (built by create_app, not started) with
aiohttp's test client; the audit trail behind it reads an empty embedded broker."""

import hmac
import re
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from streams.commands.broker import Broker
from streams.commands.policies import load_policies
from streams.settings import Settings
from streams.web.access import COOKIE, Access, Role, TokenError, Tokens, tokens_from_file, tokens_from_list
from streams.worker.app import create_app
from streams.worker.topics import ensure_topics

STAFF = "staff-token-0123456789abcdef"
STAFF_NEXT = "staff-token-rotated-9876543210"
INSPECTOR = "ombudsman-inspector-token-42+/="
UNKNOWN = "not-a-configured-token-000000"

# The routes that need a token. Every other route the worker serves is open: /public/... too.
GUARDED = {
    "/ops/{office_id}",
    "/offices/{office_id}/status",
    "/offices/{office_id}/ops/stream",
    "/offices/{office_id}/referrals",
    "/audit/{office_id}/{ticket_id}",
}
# Open routes answer 200, but /ready before the worker has started.
OPEN_STATUS = {"/ready": 503}
STREAMS = {"/offices/{office_id}/board/stream", "/offices/{office_id}/ops/stream"}
WRITES = ("POST", "PUT", "PATCH", "DELETE", "OPTIONS")

CREDENTIALS: dict[str, tuple[dict[str, str], dict[str, str], int]] = {
    # name: (headers, cookies, status on a guarded route)
    "none": ({}, {}, 401),
    "staff": ({"Authorization": f"Bearer {STAFF}"}, {}, 200),
    "staff, the rotated token": ({"Authorization": f"bearer {STAFF_NEXT}"}, {}, 200),
    "inspector": ({"Authorization": f"Bearer {INSPECTOR}"}, {}, 200),
    # The sign-in form sets the cookie with encodeURIComponent.
    "inspector, the sign-in cookie": ({}, {COOKIE: quote(INSPECTOR, safe="")}, 200),
    "wrong token": ({"Authorization": f"Bearer {UNKNOWN}"}, {}, 403),
    "wrong token in the cookie": ({}, {COOKIE: UNKNOWN}, 403),
    "basic, not bearer": ({"Authorization": f"Basic {STAFF}"}, {}, 401),
    "empty bearer": ({"Authorization": "Bearer "}, {}, 401),
}


def concrete(pattern: str) -> str:
    """A URL for a route pattern: a known office, any ticket."""
    values = {"office_id": "kanim-blitar", "ticket_id": "T-1"}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), pattern)


def web_app(broker: Broker, tmp_path: Path, audit_timeout_s: float = 30.0) -> web.Application:
    """The worker's web app, built by create_app but not started."""
    settings = Settings(
        policies=load_policies(None),
        broker=broker.url,
        partitions=2,
        data_dir=str(tmp_path),
        staff_tokens=f"{STAFF}, {STAFF_NEXT}",
        inspector_tokens=INSPECTOR,
        audit_timeout_s=audit_timeout_s,
    )
    return create_app(settings).kompensasi_web.build()


@pytest.fixture
async def client(broker: Broker, tmp_path: Path) -> AsyncIterator[TestClient]:
    await ensure_topics(broker.address, 2, 1, {})
    async with TestClient(TestServer(web_app(broker, tmp_path))) as c:
        yield c


def routes(c: TestClient) -> set[str]:
    return {r.resource.canonical for r in c.server.app.router.routes() if r.resource is not None}


async def status_of(c: TestClient, method: str, url: str, headers: dict, cookies: dict) -> tuple[int, dict]:
    c.session.cookie_jar.clear()
    c.session.cookie_jar.update_cookies(cookies)
    # An event stream never ends: its status line is all a test reads.
    async with c.request(method, url, headers=headers) as r:
        return r.status, dict(r.headers)


@pytest.mark.broker
async def test_every_route_answers_each_caller_as_the_table_says(client: TestClient) -> None:
    served = routes(client)
    assert served >= GUARDED, "a guarded route is missing"
    assert not {p for p in served if p.startswith(("/table", "/router", "/graph", "/stats"))}, (
        "Faust's own pages (its state table, the cluster layout) are not served"
    )
    wrong = []
    for pattern in sorted(served):
        for name, (headers, cookies, guarded_status) in CREDENTIALS.items():
            expected = guarded_status if pattern in GUARDED else OPEN_STATUS.get(pattern, 200)
            status, answer = await status_of(client, "GET", concrete(pattern), headers, cookies)
            if status != expected:
                wrong.append(f"GET {pattern} with {name}: {status}, expected {expected}")
            if status == 401 and answer.get("WWW-Authenticate") != 'Bearer realm="kompensasi"':
                wrong.append(f"GET {pattern} with {name}: 401 without the Bearer challenge")
            cached = answer.get("Cache-Control") != "no-store"
            if status == 200 and pattern in GUARDED and pattern not in STREAMS and cached:
                wrong.append(f"GET {pattern} with {name}: cacheable")
        if pattern not in STREAMS:
            status, _ = await status_of(client, "HEAD", concrete(pattern), {}, {})
            if status != (401 if pattern in GUARDED else OPEN_STATUS.get(pattern, 200)):
                wrong.append(f"HEAD {pattern} without a token: {status}")
    assert wrong == []


@pytest.mark.broker
async def test_nothing_on_the_web_port_writes_for_anyone(client: TestClient) -> None:
    wrong = []
    for pattern in [*sorted(routes(client)), "/no/such/route"]:
        for method in WRITES:
            for name in ("none", "staff", "inspector"):
                headers, cookies, _ = CREDENTIALS[name]
                status, answer = await status_of(client, method, concrete(pattern), headers, cookies)
                if status != 405 or answer.get("Allow") != "GET, HEAD":
                    wrong.append(f"{method} {pattern} as {name}: {status}")
    assert wrong == []


@pytest.mark.broker
async def test_a_token_in_the_query_string_is_not_accepted(client: TestClient) -> None:
    async with client.get(f"/offices/kanim-blitar/status?token={STAFF}") as r:
        assert r.status == 401


@pytest.mark.broker
async def test_a_browser_without_a_token_gets_the_sign_in_form(client: TestClient) -> None:
    async with client.get("/ops/kanim-blitar", headers={"Accept": "text/html"}) as r:
        assert r.status == 401
        page = await r.text()
    assert '<form id="sign-in">' in page and 'data-status="401"' in page
    async with client.get(
        "/ops/kanim-blitar", headers={"Accept": "text/html"}, cookies={COOKIE: UNKNOWN}
    ) as r:
        assert r.status == 403
        assert 'data-status="403"' in await r.text()


@pytest.mark.broker
async def test_the_audit_route_checks_its_dates(client: TestClient) -> None:
    bearer = {"Authorization": f"Bearer {INSPECTOR}"}
    for query in ("from=2026-13-01", "from=2026-03-05&to=2026-03-01", "to=yesterday"):
        async with client.get(f"/audit/kanim-blitar/T-1?{query}", headers=bearer) as r:
            assert r.status == 400, query
    async with client.get("/audit/kanim-blitar/T-1?from=2026-03-01&to=2026-03-31", headers=bearer) as r:
        assert r.status == 200
        body = await r.json()
    assert (body["from"], body["to"], body["entries"]) == ("2026-03-01", "2026-03-31", [])
    async with client.get("/audit/no-such-office/T-1", headers=bearer) as r:
        assert r.status == 404


@pytest.mark.broker
async def test_an_audit_trail_over_its_time_limit_says_how_to_narrow_it(
    broker: Broker, tmp_path: Path
) -> None:
    await ensure_topics(broker.address, 2, 1, {})
    bearer = {"Authorization": f"Bearer {STAFF}"}
    async with (
        TestClient(TestServer(web_app(broker, tmp_path, audit_timeout_s=1e-6))) as c,
        c.get("/audit/kanim-blitar/T-1", headers=bearer) as r,
    ):
        assert r.status == 503
        assert "narrow it with ?from= and ?to=" in (await r.json())["error"]


async def test_a_route_for_one_role_refuses_the_other() -> None:
    tokens = Tokens(
        tokens_from_list(Role.STAFF, STAFF, "s") + tokens_from_list(Role.INSPECTOR, INSPECTOR, "i")
    )
    access = Access(tokens)
    app = web.Application(middlewares=[access.middleware])

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="read")

    app.router.add_get(access.guard("/staff-only", frozenset({Role.STAFF})), ok)
    async with TestClient(TestServer(app)) as c:
        async with c.get("/staff-only", headers={"Authorization": f"Bearer {INSPECTOR}"}) as r:
            assert r.status == 403
            assert r.headers["WWW-Authenticate"] == 'Bearer realm="kompensasi", error="insufficient_scope"'
        async with c.get("/staff-only", headers={"Authorization": f"Bearer {STAFF}"}) as r:
            assert (r.status, await r.text()) == (200, "read")


def test_tokens_are_compared_with_every_configured_token(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = Tokens(
        tokens_from_list(Role.STAFF, f"{STAFF},{STAFF_NEXT}", "s")
        + tokens_from_list(Role.INSPECTOR, INSPECTOR, "i")
    )
    calls = []
    compare = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append(1)
        return compare(a, b)

    monkeypatch.setattr("streams.web.access.hmac.compare_digest", counting)
    for token, role in ((STAFF, Role.STAFF), (INSPECTOR, Role.INSPECTOR), (UNKNOWN, None)):
        calls.clear()
        assert tokens.role_of(token) is role
        assert len(calls) == 3, "no early exit on a match"


def test_bad_token_settings_are_refused_without_showing_the_token(tmp_path: Path) -> None:
    short = "tooShort-1"
    with pytest.raises(TokenError) as exc:
        tokens_from_list(Role.STAFF, short, "KOMPENSASI_STAFF_TOKENS")
    assert short not in str(exc.value) and "KOMPENSASI_STAFF_TOKENS" in str(exc.value)
    spaced = "has a space inside it 0123456789"
    with pytest.raises(TokenError) as exc:
        tokens_from_file(f"# comment\n\nstaff {STAFF}\ninspector {spaced}\n", "tokens")
    assert "line 4" in str(exc.value) and "space" not in str(exc.value)
    with pytest.raises(TokenError, match="line 1"):
        tokens_from_file(f"admin {STAFF}\n", "tokens")
    with pytest.raises(TokenError, match="both staff and inspector"):
        Tokens.configured(STAFF, STAFF, "")
    with pytest.raises(TokenError, match="cannot be read"):
        Tokens.configured("", "", str(tmp_path / "missing"))


def test_the_tokens_file_is_read_again_when_it_changes(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"staff {STAFF}\ninspector {INSPECTOR}\n")
    tokens = Tokens([], path, recheck_s=0.0)
    assert tokens.role_of(STAFF) is Role.STAFF
    # Rotation: the new staff token is added, then the old one removed, without a restart.
    path.write_text(f"staff {STAFF}\nstaff {STAFF_NEXT}\ninspector {INSPECTOR}\n")
    assert tokens.role_of(STAFF_NEXT) is Role.STAFF and tokens.role_of(STAFF) is Role.STAFF
    path.write_text(f"staff {STAFF_NEXT}\ninspector {INSPECTOR}\n")
    assert tokens.role_of(STAFF) is None
    # A broken file keeps the tokens that worked, and the log says why without a token.
    path.write_text(f"staff {STAFF_NEXT}\ninspector short\n")
    assert tokens.role_of(STAFF_NEXT) is Role.STAFF
    logged = capfd.readouterr().out  # fd-level: the worker's logging writes to fd 1 itself
    assert "tokens_file_rejected" in logged and "line 2" in logged
    assert all(t not in logged for t in (STAFF, STAFF_NEXT, INSPECTOR, "short"))


def test_settings_never_show_a_token() -> None:
    settings = Settings(policies=[], staff_tokens=STAFF, inspector_tokens=INSPECTOR)
    assert STAFF not in repr(settings) and INSPECTOR not in repr(settings)


def test_the_sign_in_page_and_the_ops_page_never_put_a_token_in_a_url() -> None:
    pages = resources.files("streams.web") / "pages"
    for name in ("sign-in.html", "ops.html"):
        text = (pages / name).read_text("utf-8")
        assert "?token" not in text and "token=" not in text.replace("kompensasi_token=", ""), name
