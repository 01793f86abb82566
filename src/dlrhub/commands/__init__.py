"""The CLI's command groups and commands (`nxcloud`, `replay`, `demo`, `receive`); `cli.py` mounts them."""
