"""Settings, read from the environment in one place.

- ``local``: the embedded default (no variable needed); every service URL switches to the real one.
- ``production``: refuses to start without a secret key and allowed hosts.
- ``test``: what pytest runs with.
"""
