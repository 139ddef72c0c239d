"""Prometheus over its HTTP API, via prometheus-api-client in a thread, never raising.

Every call has the configured timeout and a bounded retry (the library's own
default blocks ~6 s on a dead server). Results keep three things apart that
a decision must not confuse: a value, NaN/Inf, and no data at all.
"""

from __future__ import annotations

import ast
import asyncio
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from cockpit.config import PrometheusConfig
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


def _api_error(text: str) -> str:
    """The "error" field of the API's JSON answer quoted in the client's exception text."""
    match = re.search(r"\((b(['\"]).*\2)\)\s*$", text, re.DOTALL)
    if match:
        try:
            body = json.loads(ast.literal_eval(match.group(1)))
            error = str(body.get("error") or body)
            return error.removeprefix('invalid parameter "query": ')[:300]
        except (ValueError, SyntaxError, AttributeError, TypeError):
            pass
    return text[:300]


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
    detail = re.search(r"SSLError\((.*)", text)
    return f"the TLS handshake failed ({(detail.group(1) if detail else text)[:160]})"


class PrometheusSource:
    def __init__(self, config: PrometheusConfig, redactor: Redactor | None = None) -> None:
        self.config = config
        self.redactor = redactor or Redactor()
        self._client: Any = None

    def _connect(self) -> Any:
        if self._client is None:
            # Imported lazily: requests + dateparser cost start-up time the TUI does not have.
            from prometheus_api_client import PrometheusConnect
            from urllib3.util.retry import Retry

            retry = Retry(
                total=self.config.retries,
                connect=self.config.retries,
                read=0,
                backoff_factor=0.1,
                status_forcelist=[502, 503, 504],
                allowed_methods=["GET", "POST"],
            )
            client = PrometheusConnect(
                url=self.config.url,
                headers=request_headers(self.config) or None,
                disable_ssl=False,
                retry=retry,
                timeout=self.config.timeout,
            )
            # The library passes the session's verify/cert/auth on every call, and so does alerts() below.
            if self.config.ca_file is not None:
                client._session.verify = self.config.ca_file
            if self.config.cert_file is not None:
                client._session.cert = (self.config.cert_file, self.config.key_file or self.config.cert_file)
            if self.config.username is not None and self.config.password is not None:
                client._session.auth = (self.config.username, self.config.password.get_secret_value())
            self._client = client
        return self._client

    def _explain(self, exc: BaseException, expr: str | None = None) -> str:
        """One readable line for whatever the client raised (no traceback, no secret)."""
        text = str(exc)
        where = f"Prometheus at {redact_dsn(self.config.url)}"
        if "SSLError" in text or "SSL" in type(exc).__name__:
            message = f"cannot talk to {where}: {_tls_reason(text, self.config.cert_file is not None)}"
        elif "Read timed out" in text or "ReadTimeout" in text or "timed out" in text.lower():
            message = f"{where} did not answer within {self.config.timeout:g}s"
        elif "error responses" in text:  # urllib3 retried 5xx answers until it gave up
            code = re.search(r"too many (\d+) error responses", text)
            message = f"{where} kept answering HTTP {code.group(1) if code else '5xx'}"
        elif "Connection refused" in text:
            message = f"cannot connect to {where} (connection refused)"
        elif "NewConnectionError" in text or "Max retries exceeded" in text or "ConnectionError" in type(exc).__name__:
            reason = re.search(r"Failed to establish a new connection: (.*?)[\"')]", text)
            message = f"cannot connect to {where}" + (f" ({reason.group(1)})" if reason else "")
        elif "HTTP Status Code" in text:
            code_match = re.search(r"HTTP Status Code (\d+)", text)
            code = int(code_match.group(1)) if code_match else 0
            detail = _api_error(text)
            if code in (400, 422) and expr is not None:
                message = f"Prometheus refused the query {expr!r}: {detail}"
            elif code in (401, 403):
                message = f"{where} refused access (HTTP {code}): check the [prometheus] credentials"
            else:
                message = f"{where} answered HTTP {code}: {detail}"
        else:
            message = f"{type(exc).__name__}: {text[:300]}"
        return self.redactor.scrub(message)

    def _late(self) -> str:
        return self.redactor.scrub(f"Prometheus at {redact_dsn(self.config.url)} did not answer within {self.config.timeout:g}s")

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        # Run the blocking client in a thread with a hard deadline of our own on top.
        return await asyncio.wait_for(
            asyncio.to_thread(fn, *args, **kwargs), timeout=self.config.timeout * (self.config.retries + 1) + 1
        )

    async def query(self, expr: str, at: float | None = None) -> QueryResult:
        """An instant query; never raises."""
        params = {"time": at} if at is not None else None
        try:
            client = self._connect()
            data = await self._call(client.custom_query, expr, params)
        except TimeoutError:
            return QueryResult(expr, error=self._late())
        except Exception as exc:  # the library raises many kinds; each becomes a result
            return QueryResult(expr, error=self._explain(exc, expr))
        samples: list[Sample] = []
        if isinstance(data, list) and data and not isinstance(data[0], dict):
            # scalar and string results arrive as [ts, "value"]
            samples.append(Sample({}, _value(data[1] if len(data) > 1 else None)))
        elif isinstance(data, list):
            for item in data:
                raw = item.get("value") or [None, None]
                samples.append(Sample(dict(item.get("metric", {})), _value(raw[1] if len(raw) > 1 else None)))
        elif data is not None:
            return QueryResult(expr, error=f"unexpected answer from Prometheus: {str(data)[:120]}")
        return QueryResult(expr, samples)

    async def query_range(self, expr: str, start: float, end: float, step: float) -> RangeResult:
        """A range query; never raises."""
        from datetime import datetime

        try:
            client = self._connect()
            data = await self._call(
                client.custom_query_range,
                expr,
                datetime.fromtimestamp(start, tz=UTC),
                datetime.fromtimestamp(end, tz=UTC),
                f"{max(step, 0.001):g}s",
            )
        except TimeoutError:
            return RangeResult(expr, error=self._late())
        except Exception as exc:
            return RangeResult(expr, error=self._explain(exc, expr))
        series = [
            RangeSeries(dict(item.get("metric", {})), [(float(t), _value(v)) for t, v in item.get("values", [])])
            for item in data or []
        ]
        return RangeResult(expr, series)

    async def targets(self) -> tuple[list[dict[str, Any]], str | None]:
        """Active scrape targets, or an error text."""
        try:
            client = self._connect()
            data = await self._call(client.get_targets)
        except TimeoutError:
            return [], self._late()
        except Exception as exc:
            return [], self._explain(exc)
        return list((data or {}).get("activeTargets", [])), None

    async def alerts(self) -> tuple[list[dict[str, Any]], str | None]:
        """Alerts Prometheus holds now (firing and pending), or an error text."""

        def fetch() -> list[dict[str, Any]]:
            client = self._connect()
            response = client._session.get(
                f"{self.config.url}/api/v1/alerts",
                headers=client.headers,
                timeout=self.config.timeout,
                verify=client._session.verify,  # explicit, as the library does: REQUESTS_CA_BUNDLE must not win
                cert=client._session.cert,
            )
            response.raise_for_status()
            return list(response.json().get("data", {}).get("alerts", []))

        try:
            return await self._call(fetch), None
        except TimeoutError:
            return [], self._late()
        except Exception as exc:
            return [], self._explain(exc)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
