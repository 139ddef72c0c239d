"""Pure parts of the HTTP checks: header rules, sub-resource discovery and verdicts, percentiles, error text."""

from __future__ import annotations

import re

import httpx
import pytest

from cockpit.checks.http_burst import effect_sql, percentile, tally_text
from cockpit.checks.http_headers import (
    Subresource,
    evaluate_headers,
    find_subresources,
    resource_verdict,
    same_site,
    serialize_origin,
)
from cockpit.results import Status
from cockpit.sources.http import describe_http_error

PAGE = "https://shop.example.com/app/"


def test_evaluate_headers_each_rule_gives_one_finding():
    headers = {
        "content-security-policy": ["default-src 'self'"],
        "strict-transport-security": ["max-age=31536000; preload"],
        "x-powered-by": ["Express"],
        "cross-origin-embedder-policy": ["unsafe-none"],
    }
    findings = evaluate_headers(
        headers,
        {"Content-Security-Policy": None, "Cross-Origin-Embedder-Policy": re.compile("^require-corp$"), "COOP": None},
        ["X-Powered-By", "Server"],
        {"Strict-Transport-Security": re.compile("(?i)preload")},
    )
    bad = [f.text for f in findings if not f.ok]
    assert len(findings) == 6
    assert bad == [
        "Cross-Origin-Embedder-Policy 'unsafe-none' does not match ^require-corp$",
        "missing COOP",
        "forbidden header X-Powered-By is present: 'Express'",
        "Strict-Transport-Security 'max-age=31536000; preload' matches forbidden (?i)preload",
    ]


def test_required_passes_when_any_repeated_value_matches():
    findings = evaluate_headers({"content-security-policy": ["a", "script-src 'self'"]}, {"Content-Security-Policy": re.compile("script-src")}, [], {})
    assert [f.ok for f in findings] == [True]


def test_find_subresources_modes_base_and_skips():
    html = """<html><head><base href="https://cdn.example.net/v2/">
    <script src="a.js"></script><script type="module" src="/m.js"></script>
    <link rel="stylesheet" href="s.css"><link rel="icon" href="i.ico"><link rel="modulepreload" href="p.js">
    <script src="x.js" crossorigin="use-credentials"></script><img src="data:image/png;base64,AA">
    <IMG SRC="a.js"><iframe src="https://shop.example.com/embed"></iframe><a href="nope.js">x</a>"""
    found = find_subresources(html, PAGE)
    assert [(r.tag, r.url, r.mode) for r in found] == [
        ("script", "https://cdn.example.net/v2/a.js", "no-cors"),
        ("script", "https://cdn.example.net/m.js", "cors"),
        ("link", "https://cdn.example.net/v2/s.css", "no-cors"),
        ("link", "https://cdn.example.net/v2/p.js", "cors"),
        ("script", "https://cdn.example.net/v2/x.js", "cors-credentials"),
        ("iframe", "https://shop.example.com/embed", "no-cors"),
    ]


def test_find_subresources_survives_broken_html():
    assert find_subresources("<script src='a.js'><<<>>><img src=", "http://h/") == [Subresource("script", "http://h/a.js", "no-cors")]


@pytest.mark.parametrize(
    ("mode", "headers", "status"),
    [
        ("no-cors", {}, Status.FAIL),
        ("no-cors", {"cross-origin-resource-policy": ["cross-origin"]}, Status.PASS),
        ("no-cors", {"cross-origin-resource-policy": ["same-origin"]}, Status.FAIL),
        ("no-cors", {"cross-origin-resource-policy": ["same-site"]}, Status.PASS),  # cdn.example.com: same site
        ("cors", {"cross-origin-resource-policy": ["cross-origin"]}, Status.FAIL),  # CORP is not CORS
        ("cors", {"access-control-allow-origin": ["*"]}, Status.PASS),
        ("cors", {"access-control-allow-origin": ["https://other.example"]}, Status.FAIL),
        ("cors-credentials", {"access-control-allow-origin": ["*"]}, Status.FAIL),
        ("cors-credentials", {"access-control-allow-origin": ["https://shop.example.com"]}, Status.FAIL),
        (
            "cors-credentials",
            {"access-control-allow-origin": ["https://shop.example.com"], "access-control-allow-credentials": ["true"]},
            Status.PASS,
        ),
    ],
)
def test_resource_verdict(mode, headers, status):
    resource = Subresource("script", "https://cdn.example.com/lib.js", mode)
    assert resource_verdict(resource, PAGE, 200, headers)[0] is status


def test_resource_verdict_iframe_needs_its_own_coep_and_errors_are_unknown():
    frame = Subresource("iframe", "https://embed.other.org/", "no-cors")
    corp = {"cross-origin-resource-policy": ["cross-origin"]}
    assert resource_verdict(frame, PAGE, 200, corp)[0] is Status.FAIL
    assert resource_verdict(frame, PAGE, 200, {**corp, "cross-origin-embedder-policy": ["require-corp"]})[0] is Status.PASS
    assert resource_verdict(frame, PAGE, 404, {})[0] is Status.UNKNOWN
    assert resource_verdict(Subresource("img", "https://x.org/a.png", "no-cors"), PAGE, 200,
                            {"cross-origin-resource-policy": ["same-site"]})[0] is Status.FAIL


def test_origins_and_sites():
    assert serialize_origin("https://Shop.example.com:443/x") == "https://shop.example.com"
    assert serialize_origin("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080"
    assert same_site("https://a.example.com/", "https://b.example.com:8443/")
    assert not same_site("http://a.example.com/", "https://a.example.com/")
    assert same_site("http://127.0.0.1:1/", "http://127.0.0.1:2/")
    assert not same_site("http://10.0.0.1/", "http://10.0.0.2/")


def test_percentile_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile([0.3], 95) == 0.3
    assert percentile([], 95) is None


def test_effect_sql_uses_a_parameter_never_the_text():
    assert effect_sql("SELECT count(*) FROM orders WHERE k = '{key}'") == "SELECT count(*) FROM orders WHERE k = $1"
    assert effect_sql("SELECT count(*) FROM orders WHERE k = {key}") == "SELECT count(*) FROM orders WHERE k = $1"
    assert effect_sql("SELECT 1 WHERE $1 = $1") == "SELECT 1 WHERE $1 = $1"


def test_tally_text():
    from collections import Counter

    assert tally_text(Counter({429: 3, 204: 5})) == "204×5, 429×3"
    assert tally_text(Counter()) == "no responses"


def test_describe_http_error_lines():
    url = "http://127.0.0.1:1234/"
    refused = httpx.ConnectError("All connection attempts failed")
    refused.__cause__ = ConnectionRefusedError(111, "Connect call failed")
    assert describe_http_error(refused, url, 5) == f"cannot connect to {url}: connection refused"
    assert describe_http_error(httpx.ReadTimeout("x"), url, 5) == f"timed out after 5s waiting for {url}"
    assert describe_http_error(httpx.ConnectTimeout("x"), url, 2.5) == f"cannot connect to {url}: timed out after 2.5s"
    assert "\n" not in describe_http_error(httpx.RemoteProtocolError("Server disconnected\nwithout reply"), url)
