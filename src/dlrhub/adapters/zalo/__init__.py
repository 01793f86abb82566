"""Zalo's business API and OAuth v4 over HTTP (`client`), and OA access-token upkeep (`tokens`)."""
