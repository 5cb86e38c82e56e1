"""Settings from the environment and the creator's site file."""
