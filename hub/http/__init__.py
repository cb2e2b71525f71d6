"""What the two HTTP doors (the API in ``hub.service``, the web UI in ``hub.web``) share:
the application's typed keys. Neither door imports the other; ``hub.server`` builds the
application with both."""
