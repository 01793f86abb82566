"""The pure bottom layer: the domain nouns, state machines, ids, errors, retry timing, breaker rules, URL rules and signing."""
