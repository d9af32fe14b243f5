"""Trigger envelopes, one module per source: each validates its outer shape tolerantly and
hands over what the backup needs."""
