"""Who may read what on the worker's web port.

A route is open unless it is declared for the staff or inspector tokens (`Access.guard`). Nothing on
the web port writes: any method but GET and HEAD gets 405, for every route and every caller."""

import hashlib
import hmac
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from enum import StrEnum
from importlib import resources
from pathlib import Path
from urllib.parse import unquote

from aiohttp import web

from streams.logs import log


class Role(StrEnum):
    STAFF = "staff"
    INSPECTOR = "inspector"


READERS = frozenset(Role)
COOKIE = "kompensasi_token"
READ_METHODS = frozenset({"GET", "HEAD"})
MIN_TOKEN_LENGTH = 20
# RFC 6750's b64token: what fits in an Authorization header and a cookie unquoted.
_TOKEN = re.compile(r"[A-Za-z0-9._~+/-]+=*")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Set on a granted request: whether its token still opens the route (an open event stream asks).
STILL_ALLOWED = web.RequestKey("still_allowed", Callable[[], bool])


class TokenError(ValueError):
    """A token setting that cannot be used; the message never contains a token."""


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _checked(token: str, where: str) -> bytes:
    if len(token) < MIN_TOKEN_LENGTH or not _TOKEN.fullmatch(token):
        raise TokenError(
            f"{where}: a token must be at least {MIN_TOKEN_LENGTH} characters of A-Z a-z 0-9 - . _ ~ + / "
            "(and = at the end), e.g. from `openssl rand -base64 32`"
        )
    return _digest(token)


def tokens_from_list(role: Role, text: str, where: str) -> list[tuple[Role, bytes]]:
    """A comma-separated list of one role's tokens."""
    return [(role, _checked(t.strip(), where)) for t in text.split(",") if t.strip()]


def tokens_from_file(text: str, where: str) -> list[tuple[Role, bytes]]:
    """Lines of `role token`; blank lines and lines starting with # are skipped."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if len(words) != 2 or words[0] not in {r.value for r in Role}:
            raise TokenError(f"{where} line {number}: expected `staff TOKEN` or `inspector TOKEN`")
        out.append((Role(words[0]), _checked(words[1], f"{where} line {number}")))
    return out


def _one_role_each(entries: Iterable[tuple[Role, bytes]]) -> None:
    roles: dict[bytes, Role] = {}
    for role, digest in entries:
        if roles.setdefault(digest, role) != role:
            raise TokenError("one token is configured for both staff and inspector")


class Tokens:
    """The configured tokens, kept as SHA-256 digests: those of the environment, fixed at start,
    and those of the tokens file, read again when the file changes (rotation without a restart)."""

    def __init__(
        self, fixed: list[tuple[Role, bytes]], path: Path | None = None, recheck_s: float = 1.0
    ) -> None:
        self.fixed = fixed
        self.path = path
        self.recheck_s = recheck_s
        self.from_file: list[tuple[Role, bytes]] = []
        self._seen: tuple[int, int, int] | None = None
        self._checked_at = float("-inf")
        if path is not None:
            try:
                self._seen = self._stamp(path)
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise TokenError(f"{path}: cannot be read ({type(exc).__name__})") from None
            self.from_file = tokens_from_file(text, str(path))
        _one_role_each([*self.fixed, *self.from_file])

    @staticmethod
    def _stamp(path: Path) -> tuple[int, int, int]:
        # The inode too: a Kubernetes Secret volume swaps a symlink rather than rewriting the file.
        st = os.stat(path)
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    @classmethod
    def configured(cls, staff: str, inspector: str, path: str) -> "Tokens":
        fixed = [
            *tokens_from_list(Role.STAFF, staff, "KOMPENSASI_STAFF_TOKENS"),
            *tokens_from_list(Role.INSPECTOR, inspector, "KOMPENSASI_INSPECTOR_TOKENS"),
        ]
        return cls(fixed, Path(path) if path else None)

    def count(self) -> dict[str, int]:
        entries = [*self.fixed, *self.from_file]
        return {role.value: sum(1 for r, _ in entries if r == role) for role in Role}

    def _reload(self) -> None:
        if self.path is None or time.monotonic() - self._checked_at < self.recheck_s:
            return
        self._checked_at = time.monotonic()
        try:
            stamp = self._stamp(self.path)
            if stamp == self._seen:
                return
            entries = tokens_from_file(self.path.read_text(encoding="utf-8"), str(self.path))
            _one_role_each([*self.fixed, *entries])
        except (OSError, UnicodeDecodeError, TokenError) as exc:
            # Keep the tokens that worked: a half-written file must not lock everyone out.
            log.warning(
                "tokens_file_rejected", error=str(exc) if isinstance(exc, TokenError) else type(exc).__name__
            )
            return
        self._seen, self.from_file = stamp, entries
        log.info("tokens_file_reloaded", **self.count())

    def role_of(self, token: str) -> Role | None:
        """Compares the digest with every configured token, without stopping at a match."""
        self._reload()
        presented = _digest(token)
        found: Role | None = None
        for role, digest in [*self.fixed, *self.from_file]:
            if hmac.compare_digest(presented, digest):
                found = role
        return found


def presented_token(request: web.BaseRequest) -> str | None:
    """`Authorization: Bearer`, else the cookie the sign-in form sets. Never the query string:
    URLs end up in logs, browser history and Referer headers."""
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    cookie = request.cookies.get(COOKIE)
    return unquote(cookie) if cookie else None  # the form URL-encodes it


def _sign_in_page(status: int) -> str:
    text = (resources.files("streams.web") / "pages" / "sign-in.html").read_text("utf-8")
    return text.replace("{{status}}", str(status))


class Access:
    """The route table: paths declared with `guard` need a token of one of their roles."""

    def __init__(self, tokens: Tokens) -> None:
        self.tokens = tokens
        self.rules: dict[str, frozenset[Role]] = {}

    def guard(self, path: str, roles: frozenset[Role] = READERS) -> str:
        self.rules[path] = roles
        return path

    def _deny(self, request: web.BaseRequest, status: int, error: str | None) -> web.Response:
        challenge = 'Bearer realm="kompensasi"' + (f', error="{error}"' if error else "")
        headers = {"WWW-Authenticate": challenge, "Cache-Control": "no-store"}
        if "text/html" in request.headers.get("Accept", ""):
            return web.Response(status=status, text=_sign_in_page(status), content_type="text/html",
                                headers=headers)  # fmt: skip
        message = "a staff or inspector token is needed" if status == 401 else "this token may not read this"
        return web.json_response({"error": message}, status=status, headers=headers)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method not in READ_METHODS:
            return web.json_response(
                {"error": "the web port is read-only"}, status=405, headers={"Allow": "GET, HEAD"}
            )
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else None
        roles = self.rules.get(route) if route is not None else None
        if roles is None:
            return await handler(request)
        token = presented_token(request)
        role = None if token is None else self.tokens.role_of(token)
        where = {"route": route, "office": request.match_info.get("office_id")}
        if token is None:
            log.info("access", outcome="no_token", **where)
            return self._deny(request, 401, None)
        if role is None:
            log.warning("access", outcome="unknown_token", **where)
            return self._deny(request, 403, "invalid_token")
        if role not in roles:
            log.warning("access", outcome="wrong_role", role=role.value, **where)
            return self._deny(request, 403, "insufficient_scope")
        log.info("access", outcome="granted", role=role.value, **where)
        # An event stream asks again while it is open: a token removed from the file ends it.
        request[STILL_ALLOWED] = lambda: self.tokens.role_of(token) in roles
        response = await handler(request)
        if not response.prepared:  # an event stream has sent its headers already
            response.headers["Cache-Control"] = "no-store"
        return response
