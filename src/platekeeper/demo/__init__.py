"""Demo agency seeding for a first look at a working system."""
