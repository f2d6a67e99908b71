"""The session experiment kit: small parts composed by :mod:`isp_audit.session.kit`.

Checks never import from here; they see the kit only through :class:`isp_audit.checks.api.Lab`.
"""
