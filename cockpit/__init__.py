"""Release Cockpit: the engine behind the terminal cockpit and the headless CLI."""

__version__ = "0.1.0"
