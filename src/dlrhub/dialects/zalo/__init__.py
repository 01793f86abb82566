"""Zalo's wire format (pure): request and answer shapes, error codes, and webhook signature checking and parsing."""
