"""The durable outbox: every outgoing message is a row (queue) that the sender delivers once,
within WeCom's limits."""
