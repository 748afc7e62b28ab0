"""Oversight: what decides, without asking the user, whether an agent's request goes ahead."""
