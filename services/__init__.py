"""The four Databasement services: api, dumper, uploader, catalog."""
