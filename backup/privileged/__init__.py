"""The privileged client: the only code in the portal that runs wrappers."""
