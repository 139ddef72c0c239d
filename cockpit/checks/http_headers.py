"""HTTP header checks: required/forbidden security headers, and COEP/COOP compatibility of sub-resources."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from cockpit.clock import iso_utc
from cockpit.results import Outcome, Status, unknown
from cockpit.sources.http import (
    describe_http_error,
    header_lines,
    http_client,
    http_timeout,
    not_configured,
    origin_of,
)

if TYPE_CHECKING:
    import httpx

    from cockpit.checks.runner import CheckContext
    from cockpit.checks.specs import HttpHeadersSpec, SubresourcesSpec

_MAX_PAGE_BYTES = 2_000_000
_SUBRESOURCE_CONCURRENCY = 8


# ---------------------------------------------------------------- required / forbidden headers


@dataclass(frozen=True)
class HeaderFinding:
    """One header rule's verdict: ok False is a problem."""

    ok: bool
    text: str


def evaluate_headers(
    headers: dict[str, list[str]],
    required: dict[str, re.Pattern[str] | None],
    forbidden: list[str],
    forbidden_values: dict[str, re.Pattern[str]],
) -> list[HeaderFinding]:
    """Check response headers (lower-case name -> values) against the rules; one finding per rule."""
    findings: list[HeaderFinding] = []
    for name, pattern in required.items():
        values = headers.get(name.lower(), [])
        if not values:
            findings.append(HeaderFinding(False, f"missing {name}"))
        elif pattern is None:
            findings.append(HeaderFinding(True, f"{name} present: {_quote(values)}"))
        elif any(pattern.search(v) for v in values):
            findings.append(HeaderFinding(True, f"{name} {_quote(values)} matches {pattern.pattern}"))
        else:
            findings.append(HeaderFinding(False, f"{name} {_quote(values)} does not match {pattern.pattern}"))
    for name in forbidden:
        values = headers.get(name.lower(), [])
        if values:
            findings.append(HeaderFinding(False, f"forbidden header {name} is present: {_quote(values)}"))
        else:
            findings.append(HeaderFinding(True, f"{name} absent"))
    for name, pattern in forbidden_values.items():
        values = headers.get(name.lower(), [])
        bad = [v for v in values if pattern.search(v)]
        if bad:
            findings.append(HeaderFinding(False, f"{name} {_quote(bad)} matches forbidden {pattern.pattern}"))
        elif values:
            findings.append(HeaderFinding(True, f"{name} {_quote(values)} does not match {pattern.pattern}"))
        else:
            findings.append(HeaderFinding(True, f"{name} absent (nothing to forbid)"))
    return findings


def _quote(values: list[str]) -> str:
    return ", ".join(repr(v) for v in values)


def _compile(rules: dict[str, str], allow_empty: bool, key: str) -> dict[str, re.Pattern[str] | None]:
    """Compile header -> regex; raises ValueError naming the key of a bad expression."""
    compiled: dict[str, re.Pattern[str] | None] = {}
    for name, expression in rules.items():
        if allow_empty and expression == "":
            compiled[name] = None
            continue
        try:
            compiled[name] = re.compile(expression)
        except re.error as exc:
            raise ValueError(f"{key}.{name}: bad regular expression {expression!r}: {exc}") from None
    return compiled


def response_headers(response: httpx.Response) -> dict[str, list[str]]:
    """Lower-case header name -> every value received for it."""
    table: dict[str, list[str]] = {}
    for name, value in response.headers.multi_items():
        table.setdefault(name.lower(), []).append(value)
    return table


async def run_headers(spec: HttpHeadersSpec, ctx: CheckContext) -> Outcome:
    """Fetch the URL once; required headers must match, forbidden ones must be absent."""
    import httpx

    url = ctx.service_url(spec.url)
    if url is None:
        return unknown(not_configured(spec.url))
    try:
        required = _compile(spec.required, True, "required")
        forbidden_values = {k: v for k, v in _compile(spec.forbidden_values, False, "forbidden_values").items() if v}
    except ValueError as exc:
        return unknown(f"cannot check: {exc}")
    if not (required or spec.forbidden or forbidden_values):
        return unknown("nothing to check: set required, forbidden or forbidden_values")

    timeout = http_timeout(ctx.config.service)
    async with http_client(ctx.config.service) as client:
        try:
            response = await client.request(spec.method, url)
        except httpx.HTTPError as exc:
            return unknown(describe_http_error(exc, url, timeout))

    findings = evaluate_headers(response_headers(response), required, spec.forbidden, forbidden_values)
    problems = [f.text for f in findings if not f.ok]
    name = ctx.evidence_name(spec, f"headers_{spec.id}_{{version}}.txt")
    lines = [
        f"# {spec.title} ({spec.id})",
        f"url: {spec.method} {url}",
        f"checked at: {iso_utc(ctx.clock.now())}",
        "",
        *header_lines(response),
        "",
        "findings:",
        *(f"  {'ok  ' if f.ok else spec.severity:<4} {f.text}" for f in findings),
    ]
    if problems:
        status = Status(spec.severity)
        summary = f"{len(problems)} header problem{'s' if len(problems) != 1 else ''}: {'; '.join(problems[:3])}"
        if len(problems) > 3:
            summary += f"; +{len(problems) - 3} more"
        lines.append(f"\nverdict: {status.value}")
        await asyncio.to_thread(ctx.evidence.write_text, name, "\n".join(lines) + "\n")
        return Outcome(status, summary, problems, [name])
    if response.status_code >= 500:
        summary = f"{url} answered HTTP {response.status_code}: an error page's headers do not vouch for the service"
        lines.append("\nverdict: UNKNOWN (server error)")
        await asyncio.to_thread(ctx.evidence.write_text, name, "\n".join(lines) + "\n")
        return Outcome(Status.UNKNOWN, summary, [], [name])
    lines.append("\nverdict: PASS")
    await asyncio.to_thread(ctx.evidence.write_text, name, "\n".join(lines) + "\n")
    summary = f"HTTP {response.status_code}: all {len(findings)} header rules hold"
    return Outcome(Status.PASS, summary, [f.text for f in findings], [name])


# ---------------------------------------------------------------- COEP / COOP sub-resources


@dataclass(frozen=True)
class Subresource:
    tag: str
    url: str
    # "no-cors" (needs CORP), "cors" (needs Access-Control-Allow-Origin), "cors-credentials"
    mode: str


class _SubresourceParser(HTMLParser):
    """Collects script/link/img/iframe sub-resources and the first <base href>."""

    _LINK_RELS = {"stylesheet", "preload", "modulepreload"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.found: list[tuple[str, str, str]] = []  # tag, raw url, mode

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        mode = _mode(a)
        if tag == "base" and self.base is None and a.get("href"):
            self.base = a["href"].strip()
        elif tag == "script" and a.get("src"):
            # module scripts are always fetched in CORS mode
            if a.get("type", "").strip().lower() == "module" and mode == "no-cors":
                mode = "cors"
            self.found.append(("script", a["src"].strip(), mode))
        elif tag == "link" and a.get("href"):
            rels = set(a.get("rel", "").lower().split())
            if rels & self._LINK_RELS:
                if "modulepreload" in rels and mode == "no-cors":
                    mode = "cors"
                self.found.append(("link", a["href"].strip(), mode))
        elif tag in ("img", "iframe") and a.get("src"):
            self.found.append((tag, a["src"].strip(), mode))


def _mode(attrs: dict[str, str]) -> str:
    if "crossorigin" not in attrs:
        return "no-cors"
    return "cors-credentials" if attrs["crossorigin"].strip().lower() == "use-credentials" else "cors"


def find_subresources(html: str, page_url: str) -> list[Subresource]:
    """The page's http(s) sub-resources, resolved against <base> and the page URL, without duplicates."""
    parser = _SubresourceParser()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient; a pathological page still yields what was found
        pass
    base = urljoin(page_url, parser.base) if parser.base else page_url
    seen: set[tuple[str, str]] = set()
    found: list[Subresource] = []
    for tag, raw, mode in parser.found:
        absolute = urljoin(base, raw)
        if urlsplit(absolute).scheme not in ("http", "https"):
            continue  # data:, blob:, javascript: load nothing cross-origin
        key = (absolute, mode)
        if key not in seen:
            seen.add(key)
            found.append(Subresource(tag, absolute, mode))
    return found


def serialize_origin(url: str) -> str:
    """An origin as the Origin header writes it: scheme://host[:port] (default port left out)."""
    scheme, host, port = origin_of(url)
    default = {"http": 80, "https": 443}.get(scheme)
    host_text = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host_text}" if port == default else f"{scheme}://{host_text}:{port}"


def same_site(a: str, b: str) -> bool:
    """Same scheme and registrable domain, approximated by the last two labels (no public-suffix list)."""
    scheme_a, host_a, _ = origin_of(a)
    scheme_b, host_b, _ = origin_of(b)
    if scheme_a != scheme_b:
        return False
    if host_a == host_b:
        return True
    if re.fullmatch(r"[0-9.]+|.*:.*", host_a) or re.fullmatch(r"[0-9.]+|.*:.*", host_b):
        return False  # IP addresses have no registrable domain
    return host_a.split(".")[-2:] == host_b.split(".")[-2:]


def resource_verdict(
    resource: Subresource, page_url: str, status_code: int, headers: dict[str, list[str]]
) -> tuple[Status, str]:
    """Would a page with COEP require-corp load this cross-origin resource? PASS/FAIL/UNKNOWN and why."""
    if status_code >= 400:
        return Status.UNKNOWN, f"answered HTTP {status_code}: cannot tell what it would send"

    def first(name: str) -> str:
        values = headers.get(name, [])
        return values[0].strip() if values else ""

    page_origin = serialize_origin(page_url)
    if resource.mode in ("cors", "cors-credentials"):
        allow = first("access-control-allow-origin")
        if not allow:
            return Status.FAIL, "crossorigin request but no Access-Control-Allow-Origin header"
        if resource.mode == "cors-credentials":
            if allow != page_origin:
                return Status.FAIL, f"use-credentials needs Access-Control-Allow-Origin {page_origin}, got {allow!r}"
            if first("access-control-allow-credentials").lower() != "true":
                return Status.FAIL, "use-credentials needs Access-Control-Allow-Credentials: true"
            return Status.PASS, f"CORS allows {page_origin} with credentials"
        if allow not in ("*", page_origin):
            return Status.FAIL, f"Access-Control-Allow-Origin {allow!r} does not allow {page_origin}"
        verdict = (Status.PASS, f"CORS Access-Control-Allow-Origin: {allow}")
    else:
        corp = first("cross-origin-resource-policy").lower()
        if not corp:
            return Status.FAIL, "no Cross-Origin-Resource-Policy header"
        if corp == "same-origin":
            return Status.FAIL, "Cross-Origin-Resource-Policy: same-origin blocks it on this page"
        if corp == "same-site" and not same_site(resource.url, page_url):
            return Status.FAIL, "Cross-Origin-Resource-Policy: same-site, but it is on another site"
        if corp not in ("same-site", "cross-origin"):
            return Status.FAIL, f"unrecognised Cross-Origin-Resource-Policy {corp!r}"
        verdict = (Status.PASS, f"Cross-Origin-Resource-Policy: {corp}")
    if resource.tag == "iframe":
        coep = first("cross-origin-embedder-policy").split(";")[0].strip().lower()
        if coep not in ("require-corp", "credentialless"):
            return Status.FAIL, f"iframe document lacks COEP require-corp/credentialless (got {coep or 'none'!r})"
    return verdict


async def _probe(client: httpx.AsyncClient, resource: Subresource, page_url: str, timeout: float) -> tuple[Status, str]:
    """HEAD the resource (GET if HEAD is refused) as the browser would ask, and judge its headers."""
    import httpx

    headers = {"Origin": serialize_origin(page_url)} if resource.mode != "no-cors" else {}
    try:
        response = await client.head(resource.url, headers=headers, follow_redirects=True)
        how = "HEAD"
        if response.status_code >= 400:
            # Some servers refuse HEAD (405/501) or answer it differently: ask with GET, headers only.
            async with client.stream("GET", resource.url, headers=headers, follow_redirects=True) as streamed:
                response = streamed
                how = "GET"
    except httpx.HTTPError as exc:
        return Status.UNKNOWN, describe_http_error(exc, resource.url, timeout)
    status, reason = resource_verdict(resource, page_url, response.status_code, response_headers(response))
    return status, f"{reason} (HTTP {response.status_code} via {how})"


async def run_subresources(spec: SubresourcesSpec, ctx: CheckContext) -> Outcome:
    """With COEP require-corp, every cross-origin sub-resource must opt in (CORP, or CORS when crossorigin)."""
    import httpx

    url = ctx.service_url(spec.url)
    if url is None:
        return unknown(not_configured(spec.url))
    timeout = http_timeout(ctx.config.service)
    name = ctx.evidence_name(spec, f"coep_subresources_{spec.id}_{{version}}.txt")
    async with http_client(ctx.config.service, concurrency=_SUBRESOURCE_CONCURRENCY) as client:
        try:
            page = await client.get(url)
        except httpx.HTTPError as exc:
            return unknown(describe_http_error(exc, url, timeout))
        if 300 <= page.status_code < 400:
            where = page.headers.get("location", "?")
            return unknown(f"{url} redirects (HTTP {page.status_code}) to {where}: point url at the final page")
        if page.status_code >= 400:
            return unknown(f"{url} answered HTTP {page.status_code}: no page to examine")

        coep_raw = page.headers.get("cross-origin-embedder-policy", "")
        coop_raw = page.headers.get("cross-origin-opener-policy", "")
        coep = coep_raw.split(";")[0].strip().lower()
        head = [
            f"# {spec.title} ({spec.id})",
            f"page: {url}  HTTP {page.status_code}",
            f"checked at: {iso_utc(ctx.clock.now())}",
            f"Cross-Origin-Embedder-Policy: {coep_raw or '(none)'}",
            f"Cross-Origin-Opener-Policy: {coop_raw or '(none)'}",
        ]
        notes: list[str] = []
        if coep != "require-corp":
            if coep == "credentialless":
                note = "COEP credentialless: cross-origin no-cors sub-resources load without credentials, no CORP needed"
            else:
                note = f"no COEP require-corp (COEP: {coep or 'none'}): nothing for cross-origin sub-resources to break"
            await asyncio.to_thread(ctx.evidence.write_text, name, "\n".join([*head, "", f"verdict: PASS — {note}"]) + "\n")
            return Outcome(Status.PASS, note, [], [name])
        if not coop_raw.strip().lower().startswith("same-origin"):
            notes.append(f"COOP is {coop_raw or 'absent'}: the page is not cross-origin isolated")

        html = page.content[:_MAX_PAGE_BYTES].decode(page.encoding or "utf-8", errors="replace")
        resources = find_subresources(html, str(page.url))
        page_origin = origin_of(str(page.url))
        same = [r for r in resources if origin_of(r.url) == page_origin]
        cross = [r for r in resources if origin_of(r.url) != page_origin]
        checked, skipped = cross[: spec.max_resources], cross[spec.max_resources :]

        limit = asyncio.Semaphore(_SUBRESOURCE_CONCURRENCY)

        async def judge(resource: Subresource) -> tuple[Status, str]:
            async with limit:
                return await _probe(client, resource, str(page.url), timeout)

        verdicts = await asyncio.gather(*(judge(r) for r in checked))

    rows = [f"PASS     {r.tag:<6} {r.url}  same-origin" for r in same]
    rows += [f"{status.value:<8} {r.tag:<6} {r.url}  {reason}" for r, (status, reason) in zip(checked, verdicts)]
    rows += [f"UNKNOWN  {r.tag:<6} {r.url}  not checked (over max_resources = {spec.max_resources})" for r in skipped]
    failed = [f"{r.url}: {reason}" for r, (status, reason) in zip(checked, verdicts) if status is Status.FAIL]
    unreachable = [f"{r.url}: {reason}" for r, (status, reason) in zip(checked, verdicts) if status is Status.UNKNOWN]
    if skipped:
        unreachable.append(f"{len(skipped)} more cross-origin sub-resources not checked (max_resources = {spec.max_resources})")

    if failed:
        status = Status.FAIL
        summary = f"{len(failed)} of {len(cross)} cross-origin sub-resources would be blocked by COEP require-corp"
        details = failed + unreachable + notes
    elif unreachable:
        status = Status.UNKNOWN
        summary = f"{len(unreachable)} cross-origin sub-resource item(s) could not be checked; none failed"
        details = unreachable + notes
    else:
        status = Status.PASS
        summary = (
            f"all {len(cross)} cross-origin sub-resources load under COEP require-corp ({len(same)} same-origin)"
            if cross
            else f"no cross-origin sub-resources ({len(same)} same-origin)"
        )
        details = notes
    body = [
        *head,
        f"sub-resources found: {len(resources)} ({len(same)} same-origin, {len(cross)} cross-origin, {len(skipped)} not checked)",
        "",
        *rows,
        "",
        *(f"note: {n}" for n in notes),
        f"verdict: {status.value} — {summary}",
    ]
    await asyncio.to_thread(ctx.evidence.write_text, name, "\n".join(body) + "\n")
    return Outcome(status, summary, details, [name])
