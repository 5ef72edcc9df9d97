"""Dialogue logic without the web: state tracking, routing policy and flows (see README.md)."""
