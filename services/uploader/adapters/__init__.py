"""The uploader's adapters to the outside world."""
