"""Whether an Alertmanager silence's matchers cover a protected label or a trigger's alertname."""

from cockpit.checks.alertmanager import Matcher, Silence, _findings, covers


def silence(*matchers: Matcher) -> Silence:
    return Silence(id="s1", state="active", matchers=list(matchers), created_by="me", ends_at="", starts_at="", comment="")


def test_matcher_operators() -> None:
    assert Matcher("severity", "critical").accepts("critical")
    assert not Matcher("severity", "critical").accepts("warning")
    assert Matcher("severity", "crit.*", is_regex=True).accepts("critical")
    assert not Matcher("severity", "crit", is_regex=True).accepts("critical")  # anchored, as Alertmanager does
    assert Matcher("severity", "critical", is_equal=False).accepts("warning")
    assert not Matcher("severity", "crit.*", is_regex=True, is_equal=False).accepts("critical")
    assert str(Matcher("severity", "crit.*", is_regex=True, is_equal=False)) == 'severity!~"crit.*"'


def test_unreadable_regex_is_assumed_to_match() -> None:
    assert Matcher("severity", "(unclosed", is_regex=True).accepts("critical")


def test_covers_needs_a_matcher_on_the_label() -> None:
    assert covers([Matcher("severity", "critical"), Matcher("alertname", "X")], "severity", "critical")
    assert covers([Matcher("severity", "critical|page", is_regex=True)], "severity", "critical")
    assert not covers([Matcher("severity", "warning")], "severity", "critical")
    assert not covers([Matcher("severity", "critical", is_equal=False)], "severity", "critical")
    # two matchers on one label: both must accept
    assert not covers([Matcher("severity", ".*", is_regex=True), Matcher("severity", "critical", is_equal=False)], "severity", "critical")
    assert not covers([Matcher("alertname", "X")], "severity", "critical")


def test_findings_split_masking_from_broad() -> None:
    protected = {"severity": "critical"}
    hides, broad = _findings(silence(Matcher("alertname", "CockpitP95")), protected, ["CockpitP95"])
    assert hides == ["trigger CockpitP95"] and broad == ["severity=critical"]
    hides, broad = _findings(silence(Matcher("severity", "warning")), protected, ["CockpitP95"])
    assert hides == [] and broad == []
    hides, broad = _findings(silence(Matcher("alertname", "DiskFull")), protected, [])
    assert hides == [] and broad == ["severity=critical"]
