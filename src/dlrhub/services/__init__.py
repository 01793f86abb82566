"""The use cases: accounts, ingesting events, accepting sends, queries. Every front door goes through them."""
