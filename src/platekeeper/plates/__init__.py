"""A plate's story: one plate's reads on a timeline and a map, their crops side by side, and its hotlist hits."""
