"""Alerts: pure rules that decide what to tell people, and sinks (I/O) that tell them."""
