"""One module of sub-commands per API resource."""
