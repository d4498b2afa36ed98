"""The web application: app factory, auth dependencies, templates and static files."""
