"""Sharing ALPR data with other agencies and Public Records Act requests (policy 462.7)."""
