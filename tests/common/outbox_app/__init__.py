"""A tiny Nameko service and helpers for the libs/common tests (also run as a real process)."""
