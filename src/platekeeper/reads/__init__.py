"""Plate reads: idempotent ingest, the content-addressed image store and search."""
