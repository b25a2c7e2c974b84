"""The engine: runs a flow's steps on a page through the catalogue."""
