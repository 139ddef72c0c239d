"""The service's HTTP endpoints: an httpx client built from [service], and httpx errors as one line.

Redirects are not followed unless asked: a security-header check must see the
response the URL itself gives, not the one three hops later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cockpit.config import ServiceConfig

if TYPE_CHECKING:
    import httpx

DEFAULT_TIMEOUT = 5.0
USER_AGENT = "release-cockpit/0.1"


def http_timeout(service: ServiceConfig | None) -> float:
    """Seconds each request may take: [service] timeout, or the default when not configured."""
    return service.timeout if service is not None else DEFAULT_TIMEOUT


def http_client(
    service: ServiceConfig | None,
    *,
    concurrency: int | None = None,
    follow_redirects: bool = False,
    timeout: float | None = None,
) -> httpx.AsyncClient:
    """A new AsyncClient with [service]'s timeout and TLS verification; use it with `async with`."""
    import httpx  # lazily: start-up time of the TUI

    seconds = timeout if timeout is not None else http_timeout(service)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency) if concurrency else httpx.Limits()
    return httpx.AsyncClient(
        timeout=httpx.Timeout(seconds),
        verify=service.verify_tls if service is not None else True,
        follow_redirects=follow_redirects,
        limits=limits,
        headers={"User-Agent": USER_AGENT},
    )


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes: httpx/anyio wrap the socket error ("All connection attempts failed")."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _connect_reason(exc: BaseException) -> str:
    import errno
    import socket

    chain = _chain(exc)
    for item in chain:
        if isinstance(item, socket.gaierror):
            return "cannot resolve the host name"
        code = getattr(item, "errno", None)
        if code == errno.ECONNREFUSED or isinstance(item, ConnectionRefusedError):
            return "connection refused"
        if code in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return "network unreachable"
        if code == errno.ECONNRESET or isinstance(item, ConnectionResetError):
            return "connection reset"
    lowered = " ".join(str(item) for item in chain).lower()
    if "refused" in lowered:
        return "connection refused"
    if "name or service not known" in lowered or "name resolution" in lowered or "nodename nor servname" in lowered:
        return "cannot resolve the host name"
    if "certificate_verify_failed" in lowered or "certificate verify failed" in lowered:
        return "TLS certificate not trusted (verify_tls = false skips the check)"
    return str(exc).strip() or "connection failed"


def describe_http_error(exc: BaseException, url: str, timeout: float | None = None) -> str:
    """One line for an httpx (or socket) error: what failed and where, never a traceback."""
    return " ".join(_describe(exc, url, timeout).split())


def _describe(exc: BaseException, url: str, timeout: float | None) -> str:
    import httpx

    after = f" after {timeout:g}s" if timeout is not None else ""
    if isinstance(exc, TimeoutError):  # asyncio's own (a probe, a WebSocket handshake): as httpx's ConnectTimeout
        return f"cannot connect to {url}: timed out{after}"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"cannot connect to {url}: timed out{after}"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out{after} waiting for {url}"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {url}: {_connect_reason(exc)}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"{url}: the server broke the connection ({str(exc).strip() or 'protocol error'})"
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return f"{url}: not a usable http(s) URL ({exc})"
    if isinstance(exc, httpx.TooManyRedirects):
        return f"{url}: too many redirects"
    if isinstance(exc, httpx.HTTPError):
        return f"{url}: {type(exc).__name__}: {str(exc).strip() or 'request failed'}"
    if isinstance(exc, OSError):
        return f"cannot connect to {url}: {_connect_reason(exc)}"
    return f"{url}: {type(exc).__name__}: {exc}"


async def connect_problem(url: str, timeout: float) -> str | None:
    """None when a TCP connection to the URL's host and port opens within the timeout, else why not (one line).

    Load-shaped checks ask first: a host name that does not resolve, or resolves
    slowly, then reads as it does in every other check instead of as N failures
    that outlast the check's own timeout.
    """
    import asyncio
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    default = 443 if parts.scheme in ("https", "wss") else 80
    try:
        host, port = parts.hostname, parts.port or default
    except ValueError as exc:
        return f"{url}: not a usable URL ({exc})"
    if not host:
        return f"{url}: not a usable URL (no host)"
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (TimeoutError, OSError) as exc:
        return describe_http_error(exc if isinstance(exc, OSError) else TimeoutError(), url, timeout)
    except UnicodeError:  # a label the IDNA codec refuses (empty, over 63 characters): no such host name
        import socket

        return describe_http_error(socket.gaierror(socket.EAI_NONAME, "Name or service not known"), url, timeout)
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return None


def not_configured(target: str) -> str:
    """The UNKNOWN summary for a check whose URL needs [service] and has none."""
    return f"[service] is not configured: cannot resolve {target!r} (set [service] canary_url)"


def _mask_cookie(value: str) -> str:
    # A cookie's value can be a session: keep its name and attributes, never the value.
    first, sep, attributes = value.partition(";")
    name, eq, _ = first.partition("=")
    return f"{name.strip()}{eq}{'***' if eq else ''}{sep}{attributes}"


def header_lines(response: httpx.Response) -> list[str]:
    """Status line and every response header as received (cookie values masked), for evidence."""
    lines = [f"HTTP {response.status_code} {response.reason_phrase}".rstrip()]
    for raw_name, raw_value in response.headers.raw:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if name.lower() == "set-cookie":
            value = _mask_cookie(value)
        lines.append(f"{name}: {value}")
    return lines


def origin_of(url: Any) -> tuple[str, str, int]:
    """(scheme, host, port) with the scheme's default port filled in: what a browser calls an origin."""
    import httpx

    parsed = httpx.URL(str(url))
    port = parsed.port or {"http": 80, "https": 443}.get(parsed.scheme, 0)
    return parsed.scheme, parsed.host.lower(), port
