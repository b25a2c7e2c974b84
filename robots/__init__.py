"""chorus-robot: drives the DGFiP and Chorus Pro portals from declarative YAML flows."""

__version__ = "0.1.0"
