"""The tamper-evident audit log: typed events, an HMAC hash chain and its verification."""
