"""What is on an agent's screen: the terminal emulator, the detectors that read it, keys."""
