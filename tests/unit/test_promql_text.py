"""Filling {window}, {selector} and {stable_selector} in signal queries."""

from types import SimpleNamespace

import pytest

from cockpit.config import CanaryConfig
from cockpit.engine.promql_text import promql_duration, render_query


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(60, "1m"), (90, "90s"), (30, "30s"), (3600, "1h"), (5400, "90m"), (86400, "1d"), (0.5, "500ms"), (1.25, "1250ms")],
)
def test_promql_duration(seconds: float, text: str) -> None:
    assert promql_duration(seconds) == text


def test_promql_duration_refuses_zero() -> None:
    with pytest.raises(ValueError):
        promql_duration(0)


def test_render_query_fills_window_and_default_selectors() -> None:
    query = 'sum(rate(http_requests_total{{selector},code=~"5.."}[{window}])) / sum(rate(http_requests_total{{stable_selector}}[{window}]))'
    assert render_query(query, 90, CanaryConfig()) == (
        'sum(rate(http_requests_total{track="canary",code=~"5.."}[90s])) / sum(rate(http_requests_total{track="stable"}[90s]))'
    )


def test_render_query_uses_configured_selectors_and_leaves_braces_alone() -> None:
    canary = SimpleNamespace(selector='deployment="api-canary"', stable_selector='deployment="api"')
    out = render_query('rate(x{{selector}}[{window}]) - rate(x{{stable_selector}}[{window}]) + y{a="b"}', 60, canary)
    assert out == 'rate(x{deployment="api-canary"}[1m]) - rate(x{deployment="api"}[1m]) + y{a="b"}'


def test_render_query_without_placeholders_is_unchanged() -> None:
    query = 'histogram_quantile(0.95, sum by (le) (rate(h_bucket{job="api"}[5m])))'
    assert render_query(query, 60, None) == query
