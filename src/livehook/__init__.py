"""livehook: signed, retried, logged webhooks for human-verification platforms.

The bare package is the receiver library (standard library only); the server lives behind the
``server`` extra.
"""

__version__ = "0.1.0"
