"""Example training configs (YAML), shipped as package data."""
