"""Retention (policy 462.9): the read-time floor, legal holds, the daily purge and its certificates, evidence."""
