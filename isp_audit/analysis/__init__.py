"""Pure analysis of what the scan collected: token formats, JWT reading and forging, entropy, encodings, Set-Cookie."""
