"""Label Studio in the loop: the embedded server, connections, push, pull and converters."""
