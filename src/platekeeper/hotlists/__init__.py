"""Hotlists: lists of plates of interest (stolen vehicles, wanted persons...), their import and the matcher."""
