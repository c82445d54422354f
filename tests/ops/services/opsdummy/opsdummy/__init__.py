"""Stand-in Nameko service for the ops tests (supervisor, runner)."""
