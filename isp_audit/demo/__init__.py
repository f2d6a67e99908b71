"""The built-in demo: two tiny web apps, one compliant and one not, audited end to end."""
