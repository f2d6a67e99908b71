"""The hostile zoo: small loopback servers that misbehave on purpose (drip, reset, bombs, hung pages)."""
