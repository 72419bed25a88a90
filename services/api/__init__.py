"""The api: the HTTP API (and later the web UI), the only service with ingress."""
