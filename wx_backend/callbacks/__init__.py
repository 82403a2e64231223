"""Signed result callbacks to the merchant's server (see docs/callbacks.md)."""
