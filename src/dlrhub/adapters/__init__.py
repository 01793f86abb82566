"""Outside libraries wrapped for dlrhub: the callback sender and its guarding resolver, metrics, rate limits, Zalo's API."""
