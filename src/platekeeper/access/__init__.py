"""Users, roles, passwords, sessions and the AccessContext that every plate-data call requires."""
