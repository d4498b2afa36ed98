"""Print docs/audit-events.md from the registry: ``python -m platekeeper.audit.events > docs/audit-events.md``."""

from platekeeper.audit.events import events_markdown

print(events_markdown(), end="")
