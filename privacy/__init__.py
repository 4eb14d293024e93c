"""Visitors' data requests (find, export, erase), retention, and masking of personal data."""
