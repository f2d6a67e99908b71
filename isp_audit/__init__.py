"""isp-audit: prove by experiment that web sessions are centrally managed server side (ISM-2066)."""

__version__ = "0.1.0"
