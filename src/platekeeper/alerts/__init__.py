"""Alerts: a read that matched a hotlist entry, its live stream and its verification workflow (policy 462.8)."""
