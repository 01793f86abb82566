"""The HTTP front doors: one module per door, each exposing `router`; `app.create_app` assembles them."""
