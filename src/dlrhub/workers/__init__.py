"""The background loops: the callback dispatcher and the Zalo channel worker."""
