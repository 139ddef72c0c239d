"""Prometheus over its HTTP API, on one async HTTP client (httpx), never raising.

Every call, its retries included, ends within the configured timeout: queries
of an evaluation run concurrently on the event loop (no thread pool to queue
behind), so a slow backend costs an evaluation one timeout, not one per
query. Results keep three things apart that a decision must not confuse: a
value, NaN/Inf, and no data at all.
"""

from __future__ import annotations

import asyncio
import math
import re
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from cockpit.config import PrometheusConfig
from cockpit.errors import UnavailableError
from cockpit.redaction import Redactor, redact_dsn


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


@dataclass
class QueryResult:
    """An instant query's answer. `error` set means Prometheus could not be asked or refused."""

    query: str
    samples: list[Sample] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def no_data(self) -> bool:
        return self.error is None and not self.samples

    def scalar(self) -> float | None:
        """The first sample's value if it is a real number; None for no data, NaN, Inf or error."""
        if self.error or not self.samples:
            return None
        value = self.samples[0].value
        return value if math.isfinite(value) else None

    def describe_missing(self) -> str:
        """Why scalar() is None, in words."""
        if self.error:
            return self.error
        if not self.samples:
            return "no data (the query returned no series)"
        value = self.samples[0].value
        if math.isnan(value):
            return "value is NaN (not a number)"
        if math.isinf(value):
            return f"value is {format_sample(value)} (not a finite number)"
        return f"has a value ({format_sample(value)})"


@dataclass
class RangeSeries:
    labels: dict[str, str]
    points: list[tuple[float, float]]


@dataclass
class RangeResult:
    query: str
    series: list[RangeSeries] = field(default_factory=list)
    error: str | None = None


def format_sample(value: float) -> str:
    """A sample value as Prometheus writes it: NaN, +Inf, -Inf, or the shortest exact number."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def _value(raw: Any) -> float:
    try:
        return float(raw)  # "NaN", "+Inf" parse to nan/inf
    except (TypeError, ValueError):
        return math.nan


def request_headers(config: PrometheusConfig) -> dict[str, str]:
    """The headers every request carries: the configured ones (a tenant's X-Scope-OrgID) and a bearer token."""
    headers = dict(config.headers)
    if config.bearer_token is not None:
        headers["Authorization"] = f"Bearer {config.bearer_token.get_secret_value()}"
    return headers


def _tls_reason(text: str, client_cert: bool) -> str:
    """What went wrong in a TLS handshake, in words a person can act on."""
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        detail = re.search(r"certificate verify failed: ([^(\"')]+)", text)
        why = detail.group(1).strip() if detail else "certificate verify failed"
        return f"its TLS certificate is not trusted ({why}): set [prometheus] ca_file to the CA that signed it"
    if "CERTIFICATE_REQUIRED" in text or "BAD_CERTIFICATE" in text or "UNKNOWN_CA" in text:
        if client_cert:  # presented, and refused: signed by a CA the server does not trust, or expired
            return "it refused the client certificate (cert_file): it must be signed by a CA the server trusts"
        return "it asks for a client certificate: set [prometheus] cert_file and key_file"
    if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
        return "it does not speak TLS there: use http:// or the right port"
    return f"the TLS handshake failed ({text[:160]})"


def _chain(exc: BaseException) -> list[BaseException]:
    """What httpx raised and what lies under it (it wraps the socket's and the ssl module's errors)."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 8:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    return chain


def _under(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    return next((e for e in _chain(exc) if isinstance(e, kind)), None)


def _os_reason(exc: BaseException) -> str | None:
    """The operating system's words for a failed connection (name not known, no route), if it gave any."""
    return next((e.strerror for e in _chain(exc) if isinstance(e, OSError) and e.strerror), None)


class _Refused(UnavailableError):
    """Prometheus answered with an HTTP error status (after any retries); never leaves this module."""

    def __init__(self, detail: str, status: int = 0) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status, self.detail = status, detail


def _detail(response: httpx.Response) -> str:
    """The API's own "error" text from an error answer, else the start of its body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    error = str(body.get("error") or body) if isinstance(body, dict) else str(body)
    return error.removeprefix('invalid parameter "query": ')[:300]


_RETRIED_STATUSES = (502, 503, 504)  # a proxy or a restarting backend; a 4xx or a 500 is an answer


class PrometheusSource:
    def __init__(self, config: PrometheusConfig, redactor: Redactor | None = None) -> None:
        self.config = config
        self.redactor = redactor or Redactor()
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _connect(self) -> httpx.AsyncClient:
        # A client belongs to one event loop (its connection pool does); the CLI may run several in turn.
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            config = self.config
            verify: ssl.SSLContext | bool = True
            if config.url.startswith("https://"):
                verify = ssl.create_default_context(cafile=config.ca_file)
                if config.cert_file is not None:
                    verify.load_cert_chain(config.cert_file, config.key_file or config.cert_file)
            auth = None
            if config.username is not None and config.password is not None:
                auth = httpx.BasicAuth(config.username, config.password.get_secret_value())
            # Over plain HTTP a connection costs a loopback round trip: none is kept, so close() never
            # leaves a socket behind and a backend that drops idle connections is never met mid-request.
            keep = 20 if config.url.startswith("https://") else 0
            self._client = httpx.AsyncClient(
                base_url=config.url,
                headers=request_headers(config),
                auth=auth,
                verify=verify,
                timeout=config.timeout,
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=keep),
                trust_env=False,  # HTTP(S)_PROXY or REQUESTS_CA_BUNDLE must not reroute or re-trust the metrics
            )
            self._loop = loop
        return self._client

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET the API path; its "data" on success. Raises on failure: the callers turn it into words.

        Every attempt shares one deadline (the configured timeout): a retry happens only on a refused
        connection or a 502/503/504, and only while time is left.
        """
        client = self._connect()
        deadline = time.monotonic() + self.config.timeout
        attempt = 0
        while True:
            left = max(0.001, deadline - time.monotonic())
            try:
                response = await asyncio.wait_for(client.get(path, params=params, timeout=left), timeout=left)
            except httpx.ConnectError:
                if attempt >= self.config.retries or deadline - time.monotonic() < 0.2:
                    raise
            else:
                if response.status_code < 400:
                    body = response.json()
                    if not isinstance(body, dict) or body.get("status") != "success":
                        raise _Refused(str(body)[:200], response.status_code)
                    return body.get("data")
                if response.status_code not in _RETRIED_STATUSES or attempt >= self.config.retries \
                        or deadline - time.monotonic() < 0.2:
                    raise _Refused(_detail(response), response.status_code)
            attempt += 1
            await asyncio.sleep(min(0.1 * attempt, max(0.0, deadline - time.monotonic() - 0.1)))

    def _explain(self, exc: BaseException, expr: str | None = None) -> str:
        """One readable line for whatever went wrong (no traceback, no secret)."""
        where = f"Prometheus at {redact_dsn(self.config.url)}"
        tls = _under(exc, ssl.SSLError)
        if tls is not None:
            message = f"cannot talk to {where}: {_tls_reason(str(tls), self.config.cert_file is not None)}"
        elif isinstance(exc, (TimeoutError, httpx.TimeoutException)):
            message = f"{where} did not answer within {self.config.timeout:g}s"
        elif isinstance(exc, _Refused):
            if exc.status in (400, 422) and expr is not None:
                message = f"Prometheus refused the query {expr!r}: {exc.detail}"
            elif exc.status in (401, 403):
                message = f"{where} refused access (HTTP {exc.status}): check the [prometheus] credentials"
            elif exc.status in _RETRIED_STATUSES:
                message = f"{where} kept answering HTTP {exc.status}"
            else:
                message = f"{where} answered HTTP {exc.status}: {exc.detail}"
        elif isinstance(exc, httpx.ConnectError):
            if _under(exc, ConnectionRefusedError) is not None:
                message = f"cannot connect to {where} (connection refused)"
            else:
                reason = _os_reason(exc) or str(exc)
                message = f"cannot connect to {where}" + (f" ({reason[:160]})" if reason else "")
        elif isinstance(exc, (httpx.TransportError, ValueError)):  # a dropped connection, an answer that is not JSON
            message = f"{where} gave no usable answer ({type(exc).__name__}: {str(exc)[:200]})"
        else:
            message = f"{type(exc).__name__}: {str(exc)[:300]}"
        return self.redactor.scrub(message)

    async def query(self, expr: str, at: float | None = None) -> QueryResult:
        """An instant query; never raises."""
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = at
        try:
            data = await self._get("/api/v1/query", params)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # each failure becomes a result with its reason
            return QueryResult(expr, error=self._explain(exc, expr))
        samples: list[Sample] = []
        kind = data.get("resultType") if isinstance(data, dict) else None
        result = data.get("result") if isinstance(data, dict) else None
        if kind in ("scalar", "string") and isinstance(result, list):
            samples.append(Sample({}, _value(result[1] if len(result) > 1 else None)))
        elif kind == "vector" and isinstance(result, list):
            for item in result:
                raw = item.get("value") or [None, None]
                samples.append(Sample(dict(item.get("metric", {})), _value(raw[1] if len(raw) > 1 else None)))
        else:
            return QueryResult(expr, error=f"unexpected answer from Prometheus: {str(data)[:120]}")
        return QueryResult(expr, samples)

    async def query_range(self, expr: str, start: float, end: float, step: float) -> RangeResult:
        """A range query; never raises."""
        # A bare number is float seconds to Prometheus; "0.5s" is refused (a duration takes whole units: "500ms"),
        # which made every back-fill of a night evaluated more often than once a second fail.
        params = {"query": expr, "start": start, "end": end, "step": f"{max(step, 0.001):g}"}
        try:
            data = await self._get("/api/v1/query_range", params)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return RangeResult(expr, error=self._explain(exc, expr))
        result = data.get("result") if isinstance(data, dict) else None
        if data.get("resultType") != "matrix" or not isinstance(result, list):
            return RangeResult(expr, error=f"unexpected answer from Prometheus: {str(data)[:120]}")
        series = [
            RangeSeries(dict(item.get("metric", {})), [(float(t), _value(v)) for t, v in item.get("values", [])])
            for item in result
        ]
        return RangeResult(expr, series)

    async def targets(self) -> tuple[list[dict[str, Any]], str | None]:
        """Active scrape targets, or an error text."""
        try:
            data = await self._get("/api/v1/targets", {"state": "active"})
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return [], self._explain(exc)
        return list((data or {}).get("activeTargets", [])), None

    async def alerts(self) -> tuple[list[dict[str, Any]], str | None]:
        """Alerts Prometheus holds now (firing and pending), or an error text."""
        try:
            data = await self._get("/api/v1/alerts")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return [], self._explain(exc)
        return list((data or {}).get("alerts", [])), None

    def close(self) -> None:
        """Forget the client (no connection is kept over plain HTTP; TLS ones close with their loop)."""
        self._client = None
        self._loop = None
