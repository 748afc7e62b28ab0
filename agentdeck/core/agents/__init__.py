"""What runs an agent: its fence (the sandbox and its view of the repository's refs)."""
