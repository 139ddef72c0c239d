"""Prometheus over its HTTP API, via prometheus-api-client in a thread, never raising.

Every call has the configured timeout and a bounded retry (the library's own
default blocks ~6 s on a dead server). Results keep three things apart that
a decision must not confuse: a value, NaN/Inf, and no data at all.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Any

from cockpit.config import PrometheusConfig
from cockpit.redaction import Redactor


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
        return f"value is {self.samples[0].value} (not a number)"


@dataclass
class RangeSeries:
    labels: dict[str, str]
    points: list[tuple[float, float]]


@dataclass
class RangeResult:
    query: str
    series: list[RangeSeries] = field(default_factory=list)
    error: str | None = None


def _value(raw: Any) -> float:
    try:
        return float(raw)  # "NaN", "+Inf" parse to nan/inf
    except (TypeError, ValueError):
        return math.nan


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

            headers: dict[str, str] = {}
            if self.config.bearer_token is not None:
                headers["Authorization"] = f"Bearer {self.config.bearer_token.get_secret_value()}"
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
                headers=headers or None,
                disable_ssl=False,
                retry=retry,
                timeout=self.config.timeout,
            )
            if self.config.username is not None and self.config.password is not None:
                client._session.auth = (self.config.username, self.config.password.get_secret_value())
            self._client = client
        return self._client

    def _explain(self, exc: BaseException) -> str:
        name = type(exc).__name__
        text = str(exc)
        if "Max retries exceeded" in text or "Connection refused" in text or "NewConnectionError" in text:
            text = f"cannot connect to Prometheus at {self.config.url}"
        elif "timed out" in text.lower() or "Timeout" in name:
            text = f"Prometheus at {self.config.url} did not answer within {self.config.timeout:g}s"
        elif "bad_data" in text or "HTTP Status Code 400" in text:
            text = f"Prometheus refused the query: {text.split('(b', 1)[-1][:200]}"
        return self.redactor.scrub(f"{name}: {text}" if name not in text else text)

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
        except (asyncio.TimeoutError, TimeoutError):
            return QueryResult(expr, error=f"Prometheus at {self.config.url} did not answer within {self.config.timeout:g}s")
        except Exception as exc:  # the library raises many kinds; each becomes a result
            return QueryResult(expr, error=self._explain(exc))
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
        from datetime import datetime, timezone

        try:
            client = self._connect()
            data = await self._call(
                client.custom_query_range,
                expr,
                datetime.fromtimestamp(start, tz=timezone.utc),
                datetime.fromtimestamp(end, tz=timezone.utc),
                f"{max(step, 0.001):g}s",
            )
        except (asyncio.TimeoutError, TimeoutError):
            return RangeResult(expr, error=f"Prometheus at {self.config.url} did not answer in time")
        except Exception as exc:
            return RangeResult(expr, error=self._explain(exc))
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
        except (asyncio.TimeoutError, TimeoutError):
            return [], f"Prometheus at {self.config.url} did not answer in time"
        except Exception as exc:
            return [], self._explain(exc)
        return list((data or {}).get("activeTargets", [])), None

    async def alerts(self) -> tuple[list[dict[str, Any]], str | None]:
        """Alerts Prometheus holds now (firing and pending), or an error text."""

        def fetch() -> list[dict[str, Any]]:
            client = self._connect()
            response = client._session.get(
                f"{self.config.url}/api/v1/alerts", headers=client.headers, timeout=self.config.timeout
            )
            response.raise_for_status()
            return list(response.json().get("data", {}).get("alerts", []))

        try:
            return await self._call(fetch), None
        except (asyncio.TimeoutError, TimeoutError):
            return [], f"Prometheus at {self.config.url} did not answer in time"
        except Exception as exc:
            return [], self._explain(exc)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
