"""Venue sources: async fetch_* (I/O) paired with pure parse_* (wire -> records)."""
