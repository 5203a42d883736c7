"""Prepare: row-level cleaning steps and the feature spec that together make a recipe."""
