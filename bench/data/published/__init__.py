"""Package data (see README.md in each folder for sources and licences)."""
