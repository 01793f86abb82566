"""The NXCloud dialect: signed `mt` and journey-token requests, their responses, and JSON DR webhooks."""
