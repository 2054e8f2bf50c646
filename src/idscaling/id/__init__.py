"""Intrinsic dimension (ID) of a point cloud (package being split out of intrinsic_dim.py)."""
