"""The Textual face of the cockpit: the App and its start-up (installed as cockpit.app.cockpit_app)."""
