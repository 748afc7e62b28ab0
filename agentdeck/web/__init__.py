"""What `agentdeck serve` adds to textual-serve's server: the installable app's manifest and
icons, paired devices, notification actions, TLS."""
