"""CLI command groups contributed by each part (`nxcloud`, `replay`, `demo`); `cli.py` mounts them."""
