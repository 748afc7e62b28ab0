"""The Textual dashboard. Everything here draws; the work is done by agentdeck.core."""
