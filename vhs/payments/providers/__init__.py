"""Payment providers: how money travels (``base`` holds the interface and the registry).

Nothing is imported here on purpose: the core imports ``base`` only, while the concrete
providers (``manual``, ``stripe``) import the core and register themselves when ``create_app``
imports them, so the core never depends on a concrete provider.
"""
