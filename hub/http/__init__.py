"""What the two HTTP doors (the API in ``hub.service``, the web UI in ``hub.web``) share:
the application's typed keys (``appkeys``), each request's id and access line
(``request_ids``, ``request_log``), the log format (``log_format``) and the Prometheus
metrics at ``/metrics`` (``metrics``). Neither door imports the other; ``hub.server``
builds the application with both."""
