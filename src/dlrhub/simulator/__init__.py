"""The built-in Zalo simulator: an ASGI app that answers like Zalo's ZNS API and OAuth v4 and posts signed receipts."""
