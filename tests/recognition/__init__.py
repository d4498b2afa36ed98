"""Tests of the recognition engine (platekeeper.recognition)."""
