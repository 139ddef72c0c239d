"""Duration, the config field type for a duration ("15m", "250ms", or seconds), parsed by cockpit.durations.

Apart from cockpit.durations so that the screen's pure modules can parse and
format durations without importing pydantic.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator

from cockpit.durations import parse_duration

Duration = Annotated[float, BeforeValidator(parse_duration)]
