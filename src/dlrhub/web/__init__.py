"""The web door: the operator's dashboard (`/ui`), the customer portal (`/portal`), the offline API docs (`/docs`).

Server-rendered Jinja2 pages with htmx for the live parts; every static file is vendored in `static/`, so nothing
is fetched from beyond the machine. Pages call the same services the admin API and the CLI call.
"""
