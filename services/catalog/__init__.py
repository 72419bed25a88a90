"""The catalog: snapshot records built only from the event stream."""
