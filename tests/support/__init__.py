"""Helpers shared by several test folders (not shipped: the wheel holds ``leaf_hub`` only)."""
