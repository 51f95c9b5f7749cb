"""Private helpers shared by all brainctrl subpackages."""
